/**
 * The browser-binding cookie of the approval loop.
 *
 * Over https it is `__Host-`-prefixed, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`: the prefix
 * forbids a `Domain` attribute and requires `Secure`, so no sibling host or plain-http page can
 * plant or overwrite it. `Lax` still sends it on Salesforce's top-level GET redirect back to the
 * callback. On an http loopback base URL (the local stack) browsers refuse `Secure` and
 * `__Host-` cookies, so both are dropped there; everything else stays the same.
 */
const BASE_NAME = 'token-broker-approval';

export interface BindingCookiePolicy {
  readonly name: string;
  readonly secure: boolean;
}

/** The cookie name and flags for a broker served at `publicBaseUrl`. */
export function selectBindingCookiePolicy(publicBaseUrl: string): BindingCookiePolicy {
  const secure = new URL(publicBaseUrl).protocol === 'https:';
  return { name: secure ? `__Host-${BASE_NAME}` : BASE_NAME, secure };
}

/** A `Set-Cookie` value carrying the binding value for `maxAgeSeconds`. */
export function serializeBindingCookie(
  policy: BindingCookiePolicy,
  value: string,
  maxAgeSeconds: number,
): string {
  return [
    `${policy.name}=${value}`,
    'Path=/',
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    ...(policy.secure ? ['Secure'] : []),
    'SameSite=Lax',
  ].join('; ');
}

/**
 * A `Set-Cookie` value that deletes the binding cookie: same name and attributes, `Max-Age=0`.
 * Sent with every callback answer, since the attempt it bound is consumed by then.
 */
export function serializeClearedBindingCookie(policy: BindingCookiePolicy): string {
  return serializeBindingCookie(policy, '', 0);
}

/**
 * The first value of cookie `name` in the request's `Cookie` headers (API Gateway may deliver
 * several header values). Values are returned as sent; callers validate their shape.
 */
export function readCookie(cookieHeaders: readonly string[], name: string): string | undefined {
  for (const header of cookieHeaders) {
    for (const pair of header.split(';')) {
      const separator = pair.indexOf('=');
      if (separator < 0) continue;
      if (pair.slice(0, separator).trim() === name) return pair.slice(separator + 1).trim();
    }
  }
  return undefined;
}
