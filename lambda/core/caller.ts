/**
 * Caller identity: API Gateway reports the SigV4 principal of an `AWS_IAM` route as an ARN. Roles
 * arrive as STS session ARNs, which must be reduced to the role before comparing them with the
 * org's `callers` list (docs/contracts.md#callers). Anything that does not parse is nobody: default deny.
 */
import type { OrgRecord } from './types';

const ASSUMED_ROLE =
  /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]+$/;
const IAM_ROLE = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/;
const IAM_USER = /^arn:(aws[a-z-]*):iam::(\d{12}):user\/[\w+=,.@/-]{1,512}$/;

/**
 * The canonical form of an IAM principal ARN, or `undefined` when it is not one.
 *
 * - `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` -> `arn:aws:iam::ACCT:role/ROLE`
 * - `arn:aws:iam::ACCT:role/path/ROLE` -> `arn:aws:iam::ACCT:role/ROLE`: an STS session ARN does
 *   not carry the role's path, so both sides drop it to compare equal.
 * - `arn:aws:iam::ACCT:user/NAME` is kept as is.
 */
export function normalizeCallerArn(arn: string): string | undefined {
  const assumed = ASSUMED_ROLE.exec(arn) ?? IAM_ROLE.exec(arn);
  if (assumed) return `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`;
  if (IAM_USER.test(arn)) return arn;
  return undefined;
}

/**
 * The org's caller rule, compiled once per org record: whether a caller ARN is one of the org's
 * allowed principals. No caller, an unparseable one, or an empty list is a no.
 */
export function compileCallerRule(
  org: Pick<OrgRecord, 'callers'>,
): (callerArn: string | null | undefined) => boolean {
  const allowed = new Set<string>();
  for (const entry of org.callers) {
    const normalized = normalizeCallerArn(entry);
    if (normalized) allowed.add(normalized);
  }
  return (callerArn) => {
    const caller = callerArn ? normalizeCallerArn(callerArn) : undefined;
    return caller !== undefined && allowed.has(caller);
  };
}

/** Whether `callerArn` is one of the org's allowed principals (see {@link compileCallerRule}). */
export function isCallerAllowed(
  org: Pick<OrgRecord, 'callers'>,
  callerArn: string | null | undefined,
): boolean {
  return compileCallerRule(org)(callerArn);
}
