/**
 * The broker's approval links (docs/approval-loop.md#approval-links): minted for the
 * remediations, incidents, reminders, the status route and the CLI, each with a fresh expiry and
 * the signer's MAC; checked by `GET /oauth/authorize` before anything about the org is read.
 */
import {
  buildApprovalLink,
  decideApprovalLinkExpiry,
  isApprovalLinkCurrent,
  type SignedApprovalLink,
} from '../core/approval-links';
import type { ApprovalLinkSigner, ServiceLogger } from '../core/ports';
import type { Clock } from '../core/types';

export interface ApprovalLinksDeps {
  readonly signer: ApprovalLinkSigner;
  /** The API's public base URL, no trailing slash (`PUBLIC_BASE_URL`). */
  readonly publicBaseUrl: string;
  /** How long a minted link starts approvals (`APPROVAL_LINK_TTL_SECONDS`). */
  readonly lifetimeSeconds: number;
  readonly clock: Clock;
  readonly logger: ServiceLogger;
  /**
   * How long one minted link is handed out again for the same org, ms: a burst of failures for an
   * org costs one KMS call, and a reminder (an hour or more apart) still carries a fresh link.
   * @default 60000
   */
  readonly reuseMs?: number;
}

export interface ApprovalLinks {
  /** A link for the org, valid for the lifetime from about now. Throws when it cannot be signed. */
  mint(orgId: string): Promise<string>;
  /**
   * {@link mint}, or `undefined` (logged) when the link cannot be signed: a remediation or page
   * without the broker's link beats a failed request, and the raw Salesforce URL remains.
   */
  mintForRemediation(orgId: string): Promise<string | undefined>;
  /** Whether a link from a request is current and carries this broker's MAC. */
  verify(link: SignedApprovalLink): Promise<boolean>;
}

export function createApprovalLinks(deps: ApprovalLinksDeps): ApprovalLinks {
  const { clock, lifetimeSeconds } = deps;
  const reuseMs = deps.reuseMs ?? 60_000;
  const minted = new Map<string, { readonly link: Promise<string>; readonly at: number }>();

  async function sign(orgId: string): Promise<string> {
    const expiresAt = decideApprovalLinkExpiry(clock(), lifetimeSeconds);
    const mac = await deps.signer.sign(orgId, expiresAt);
    return buildApprovalLink(deps.publicBaseUrl, { orgId, expiresAt, mac });
  }

  async function mint(orgId: string): Promise<string> {
    const now = clock();
    const recent = minted.get(orgId);
    if (recent && now - recent.at < reuseMs) return recent.link;
    const link = sign(orgId);
    minted.set(orgId, { link, at: now });
    // A failed signing is not handed out again: the next caller tries anew.
    link.catch(() => {
      if (minted.get(orgId)?.link === link) minted.delete(orgId);
    });
    return link;
  }

  return {
    mint,
    async mintForRemediation(orgId) {
      try {
        return await mint(orgId);
      } catch (error) {
        deps.logger.warn('Approval link could not be signed; remediation without it', {
          org_id: orgId,
          message: error instanceof Error ? error.message : String(error),
        });
        return undefined;
      }
    },
    async verify(link) {
      // Expiry first: an expired or overlong link costs no KMS call.
      if (!isApprovalLinkCurrent(link.expiresAt, clock(), lifetimeSeconds)) return false;
      return deps.signer.verify(link);
    },
  };
}
