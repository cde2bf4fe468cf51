/**
 * The emulator's HTML pages: plain, self-contained (no external assets), every reflected value
 * escaped. Forms post back to the same emulated host.
 */
import type { App, User } from './model';

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f3f3f3;margin:0}
main{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.5rem;border:1px solid #ddd}
h1{font-size:1.25rem}label,select,button{display:block;width:100%;margin:.5rem 0}
select,button{padding:.5rem;font-size:1rem}.error{color:#b00}code{word-break:break-all}`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

/** The page Salesforce shows instead of redirecting (bad client_id or redirect_uri). */
export function errorPage(error: string, description: string, detail?: string): string {
  return page(
    'Error | Salesforce',
    `<h1>OAuth Error</h1>
<p>We can't authorize you because of an OAuth error. For more information, contact your Salesforce administrator.</p>
<p class="error" id="error"><strong>${escapeHtml(error)}</strong>: <span id="error_description">${escapeHtml(description)}</span></p>
${detail ? `<p id="detail">${escapeHtml(detail)}</p>` : ''}`,
  );
}

export function loginPage(options: {
  action: string;
  pending: string;
  users: User[];
  loginHint: string | undefined;
  hostLabel: string;
  error?: string;
}): string {
  const hinted = options.users.some((user) => user.username === options.loginHint);
  const choices = options.users
    .map((user) => {
      const selected = user.username === options.loginHint ? ' selected' : '';
      return `<option value="${escapeHtml(user.username)}"${selected}>${escapeHtml(user.username)}</option>`;
    })
    .join('');
  return page(
    'Login | Salesforce',
    `<h1>Log in to ${escapeHtml(options.hostLabel)}</h1>
${options.error ? `<p class="error" id="login-error">${escapeHtml(options.error)}</p>` : ''}
<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="pending" value="${escapeHtml(options.pending)}">
<label for="username">Username</label>
<select id="username" name="username" required>
<option value=""${hinted ? '' : ' selected'} disabled>Choose a user</option>${choices}
</select>
<button type="submit" id="Login">Log In</button>
</form>`,
  );
}

export function approvalPage(options: {
  action: string;
  pending: string;
  app: App;
  user: User;
  scopes: string[];
}): string {
  const scopes = options.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('');
  return page(
    'Allow Access? | Salesforce',
    `<h1>Allow Access?</h1>
<p><strong id="app-name">${escapeHtml(options.app.name)}</strong> is asking to access your account
<strong id="approving-user">${escapeHtml(options.user.username)}</strong> with these permissions:</p>
<ul id="scopes">${scopes}</ul>
<form method="post" action="${escapeHtml(options.action)}">
<input type="hidden" name="pending" value="${escapeHtml(options.pending)}">
<button type="submit" name="decision" value="allow" id="oaapprove">Allow</button>
<button type="submit" name="decision" value="deny" id="oadeny">Deny</button>
</form>`,
  );
}
