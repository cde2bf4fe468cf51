/** The one reply shape every emulated endpoint returns, and builders for it. */

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Headers Salesforce puts on token responses; they must never be cached. */
const NO_STORE = { 'cache-control': 'no-cache,must-revalidate,max-age=0,no-store,private' };

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json;charset=UTF-8', ...NO_STORE, ...headers },
    body: JSON.stringify(body),
  };
}

/** An OAuth error body `{"error","error_description"}`, HTTP 400 unless said otherwise. */
export function oauthError(error: string, description: string, status = 400): Reply {
  return json(status, { error, error_description: description });
}

export function text(status: number, body: string): Reply {
  return { status, headers: { 'content-type': 'text/plain;charset=UTF-8', ...NO_STORE }, body };
}

/**
 * An HTML page with a strict CSP. `redirectOrigin` is the registered redirect URI's origin for
 * pages whose form submission ends in a redirect there (CSP form-action also governs redirects).
 */
export function html(status: number, body: string, redirectOrigin?: string): Reply {
  const formAction = redirectOrigin ? `'self' ${redirectOrigin}` : "'self'";
  return {
    status,
    headers: {
      'content-type': 'text/html;charset=UTF-8',
      ...NO_STORE,
      'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    },
    body,
  };
}

export function redirect(location: string): Reply {
  return { status: 302, headers: { location, ...NO_STORE }, body: '' };
}

/** Reads a form-encoded body; undefined when the content type is anything else. */
export function readForm(
  contentType: string | undefined,
  body: string,
): Map<string, string> | undefined {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded') return undefined;
  const params = new URLSearchParams(body);
  const form = new Map<string, string>();
  for (const [key, value] of params) if (!form.has(key)) form.set(key, value);
  return form;
}
