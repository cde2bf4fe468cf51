/**
 * Staged key rotation (docs/runbook.md#rotating-a-signing-key): a Connected App holds one
 * certificate, so the broker cannot sign with old and new keys "at once". `keys rotate` stages the
 * next key on the org item; when Salesforce refuses the current key (`invalid_assertion`, the
 * certificate was swapped) the token function tries the staged key once and, if Salesforce takes
 * it, promotes it for every instance. The registry's `signingKeySecretId` stays as registered
 * until `keys rotate --finish` folds the promotion into it. Pure: no I/O.
 */
import { signingKeySecretIdOf } from './org-record';
import type { OrgRecord } from './types';

/** The rotation state kept on an org item (attribute `keyRotation`). Secret names only. */
export interface KeyRotation {
  /** The next key, staged by `keys rotate`. */
  readonly stagedSecretId?: string | undefined;
  /** RFC 3339 UTC */
  readonly stagedAt?: string | undefined;
  /** The promoted key: current fleet-wide, whatever the registry's `signingKeySecretId` says. */
  readonly currentSecretId?: string | undefined;
  /** The key the promotion replaced, to retire with `keys rotate --finish`. */
  readonly previousSecretId?: string | undefined;
  /** RFC 3339 UTC */
  readonly promotedAt?: string | undefined;
}

const FIELDS = [
  'stagedSecretId',
  'stagedAt',
  'currentSecretId',
  'previousSecretId',
  'promotedAt',
] as const satisfies readonly (keyof KeyRotation)[];

/** The key to sign with: the promoted one, else the registered one. */
export function selectCurrentKey(org: OrgRecord, rotation: KeyRotation | undefined): string {
  return rotation?.currentSecretId ?? signingKeySecretIdOf(org);
}

/** The staged key worth trying after the current one was refused, if any. */
export function selectStagedKey(
  rotation: KeyRotation | undefined,
  currentSecretId: string,
): string | undefined {
  const staged = rotation?.stagedSecretId;
  return staged && staged !== currentSecretId ? staged : undefined;
}

/** A stored `keyRotation` attribute, keeping only string fields it knows. */
export function readKeyRotation(raw: unknown): KeyRotation | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const rotation: Record<string, string> = {};
  for (const field of FIELDS) {
    const value = (raw as Record<string, unknown>)[field];
    if (typeof value === 'string' && value !== '') rotation[field] = value;
  }
  return Object.keys(rotation).length > 0 ? rotation : undefined;
}
