/**
 * Validation of the OAuth routes' query strings, before anything is looked up. Everything that is
 * missing, repeated, overlong or contains control characters is refused here with a message fit
 * for the page; nothing from the query is ever used as a redirect target.
 */
import { APPROVAL_LINK_MAC_PATTERN, type SignedApprovalLink } from './approval-links';
import { isWellFormedToken } from './oauth-state';
import { isValidOrgId } from './org-record';

/** API Gateway's `multiValueQueryStringParameters`. */
export type MultiValueQuery = Readonly<Record<string, readonly string[] | undefined>> | null;

type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string };

/** Longest accepted value per parameter (Salesforce codes are ~100 characters). */
const MAX_LENGTH = {
  org: 64,
  exp: 12,
  sig: 64,
  state: 128,
  code: 1024,
  error: 128,
  error_description: 1024,
} as const;
type Known = keyof typeof MAX_LENGTH;

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function readSingle(query: MultiValueQuery, name: Known): Parsed<string | undefined> {
  const values = query?.[name];
  if (!values || values.length === 0) return { ok: true, value: undefined };
  if (values.length > 1) return { ok: false, message: `The parameter "${name}" is repeated.` };
  const value = values[0] as string;
  if (value.length > MAX_LENGTH[name]) {
    return { ok: false, message: `The parameter "${name}" is too long.` };
  }
  if (CONTROL_CHARACTERS.test(value)) {
    return { ok: false, message: `The parameter "${name}" contains control characters.` };
  }
  return { ok: true, value: value === '' ? undefined : value };
}

/**
 * `GET /oauth/authorize?org=ID&exp=SECONDS&sig=MAC`: the parts of a signed approval link. What
 * fails here is refused with the same page as a link whose MAC or expiry is wrong, so the message
 * is for the logs only.
 */
export function parseAuthorizeQuery(query: MultiValueQuery): Parsed<SignedApprovalLink> {
  const values: Partial<Record<'org' | 'exp' | 'sig', string>> = {};
  for (const name of ['org', 'exp', 'sig'] as const) {
    const parsed = readSingle(query, name);
    if (!parsed.ok) return parsed;
    if (!parsed.value) return { ok: false, message: `The parameter "${name}" is required.` };
    values[name] = parsed.value;
  }
  const { org = '', exp = '', sig = '' } = values;
  if (!isValidOrgId(org)) {
    return { ok: false, message: 'The parameter "org" must be a lowercase org id.' };
  }
  if (!/^[1-9][0-9]{0,11}$/.test(exp)) {
    return { ok: false, message: 'The parameter "exp" must be a time in seconds.' };
  }
  if (!APPROVAL_LINK_MAC_PATTERN.test(sig)) {
    return { ok: false, message: 'The parameter "sig" is not a MAC this broker makes.' };
  }
  return { ok: true, value: { orgId: org, expiresAt: Number(exp), mac: sig } };
}

export interface CallbackQuery {
  /** `undefined` when absent; well-formedness is decided by the state check. */
  readonly state: string | undefined;
  readonly stateWellFormed: boolean;
  readonly code: string | undefined;
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
}

/** `GET /oauth/callback?code=...&state=...` or `?error=...&error_description=...&state=...` */
export function parseCallbackQuery(query: MultiValueQuery): Parsed<CallbackQuery> {
  const fields: Partial<Record<Known, string | undefined>> = {};
  for (const name of ['state', 'code', 'error', 'error_description'] as const) {
    const parsed = readSingle(query, name);
    if (!parsed.ok) return parsed;
    fields[name] = parsed.value;
  }
  if (fields.code && fields.error) {
    return { ok: false, message: 'The callback carries both a code and an error.' };
  }
  if (!fields.code && !fields.error) {
    return { ok: false, message: 'The callback carries neither a code nor an error.' };
  }
  return {
    ok: true,
    value: {
      state: fields.state,
      stateWellFormed: fields.state !== undefined && isWellFormedToken(fields.state),
      code: fields.code,
      error: fields.error,
      errorDescription: fields.error_description,
    },
  };
}
