/** Approval links as the CLI mints them: the broker's own service, over the target's KMS. */
import { createKmsApprovalLinkSigner } from '../lambda/adapters/approval-link-signer';
import { DEFAULT_APPROVAL_LINK_TTL_SECONDS } from '../lambda/handlers/approval-link-config';
import { type ApprovalLinks, createApprovalLinks } from '../lambda/services/approval-links';
import type { Target } from './target';

/** @param lifetimeSeconds @default the stack's default, 7 days */
export function createCliApprovalLinks(
  target: Target,
  input: {
    readonly keyId: string;
    readonly publicBaseUrl: string;
    readonly lifetimeSeconds?: number;
  },
): ApprovalLinks {
  return createApprovalLinks({
    signer: createKmsApprovalLinkSigner({ client: target.kms(), keyId: input.keyId }),
    publicBaseUrl: input.publicBaseUrl,
    lifetimeSeconds: input.lifetimeSeconds ?? DEFAULT_APPROVAL_LINK_TTL_SECONDS,
    clock: Date.now,
    // The CLI reports a signing failure itself (approval-url) or prints the raw URL (verify).
    logger: { info: () => undefined, warn: () => undefined },
  });
}
