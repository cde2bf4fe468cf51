/**
 * The {@link ApprovalLinkSigner} over a KMS HMAC_256 key: GenerateMac to sign, VerifyMac to check,
 * so the key never leaves KMS and every check is in CloudTrail.
 */
import {
  buildApprovalLinkMessage,
  decodeApprovalLinkMac,
  type SignedApprovalLink,
} from '../core/approval-links';
import type { ApprovalLinkSigner } from '../core/ports';
import { createKmsMac, type KmsMacOptions } from './kms-envelope';

/** @param options.keyId the HMAC_256 key (`APPROVAL_LINK_KEY_ID`) */
export function createKmsApprovalLinkSigner(options: KmsMacOptions): ApprovalLinkSigner {
  const mac = createKmsMac(options);
  return {
    async sign(orgId, expiresAt) {
      const bytes = await mac.generate(buildApprovalLinkMessage(orgId, expiresAt));
      return Buffer.from(bytes).toString('base64url');
    },
    async verify(link: SignedApprovalLink) {
      // Anything but a canonical 32-byte MAC is refused without a KMS call (and its cost).
      const given = decodeApprovalLinkMac(link.mac);
      if (!given) return false;
      return mac.verify(buildApprovalLinkMessage(link.orgId, link.expiresAt), given);
    },
  };
}
