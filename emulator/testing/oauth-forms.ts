/**
 * Drives the emulator's authorize pages with plain HTTP (no browser): open the authorize URL,
 * pick a user, click Allow or Deny, and read where the emulator redirects.
 */

export interface AuthorizeOutcome {
  /** Status of the last response (302 when redirected). */
  readonly status: number;
  /** The redirect target, when the emulator redirected. */
  readonly location: string | undefined;
  /** The last page's HTML, when it did not redirect. */
  readonly html: string;
}

function pendingHandle(html: string): string | undefined {
  return /name="pending" value="([^"]+)"/.exec(html)?.[1];
}

async function postForm(url: string, form: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
}

async function outcome(response: Response): Promise<AuthorizeOutcome> {
  return {
    status: response.status,
    location: response.headers.get('location') ?? undefined,
    html: await response.text(),
  };
}

/**
 * Opens `{loginUrl}/services/oauth2/authorize?{params}`, logs in as `username` and, if the
 * Allow/Deny page appears, answers it with `decision`.
 */
export async function authorizeWithForms(
  loginUrl: string,
  params: Record<string, string>,
  username: string,
  decision: 'allow' | 'deny' = 'allow',
): Promise<AuthorizeOutcome> {
  const start = await fetch(
    `${loginUrl}/services/oauth2/authorize?${new URLSearchParams(params)}`,
    { redirect: 'manual' },
  );
  const startPage = await outcome(start);
  const loginHandle = pendingHandle(startPage.html);
  if (start.status !== 200 || !loginHandle) return startPage;
  const login = await outcome(
    await postForm(`${loginUrl}/services/oauth2/authorize/login`, {
      pending: loginHandle,
      username,
    }),
  );
  const approvalHandle = pendingHandle(login.html);
  if (login.status !== 200 || !approvalHandle) return login;
  return outcome(
    await postForm(`${loginUrl}/services/oauth2/authorize/decision`, {
      pending: approvalHandle,
      decision,
    }),
  );
}
