/**
 * The local stack's caller: a key pair made at each start, which the local gateway maps to an
 * assumed-role ARN of the role the demo org lists in `callers`. Printed in the walkthrough and
 * written to the stack file, so the client, `curl --aws-sigv4` and the CLI sign as a deployed
 * caller would; the gateway checks every signature (local/sigv4.ts).
 */
import { createLocalCallerKey, type LocalCallerKey, type SigV4Settings } from './sigv4';

export interface LocalCaller {
  /** For the stack file: what a caller needs to sign, and who it is. */
  readonly credentials: LocalCallerKey;
  /** For the gateway: the one key it accepts. */
  readonly sigv4: SigV4Settings;
}

/** A new key pair for `arn` (an assumed-role ARN, as API Gateway reports callers) in `region`. */
export function createLocalCaller(arn: string, region: string): LocalCaller {
  const credentials = createLocalCallerKey(arn);
  return { credentials, sigv4: { region, keys: [credentials] } };
}
