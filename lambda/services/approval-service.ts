/**
 * The closed approval loop (docs/approval-loop.md): `start` sends the operator's browser to
 * Salesforce with a fresh attempt; `complete` checks what comes back, in the documented order,
 * proves the fix with a fresh JWT exchange, and reports one outcome (page + events). No SDK, no
 * environment.
 */
import { buildRedirectUri } from '../core/approval-links';
import {
  type ApprovalOutcome,
  decideApprovalLinkRefused,
  decideAuthorizeError,
  decideCodeExchangeFailure,
  decideInvalidRequest,
  decideStateFailure,
  decideVerification,
  isStrayApproval,
  noteStrayApproval,
} from '../core/approval-outcome';
import type { RequestDeadline } from '../core/deadline';
import { BrokerError, isBrokerError } from '../core/errors';
import { buildApprovalCompleted, buildApprovalFailed, type EventContext } from '../core/events';
import {
  type MultiValueQuery,
  parseAuthorizeQuery,
  parseCallbackQuery,
} from '../core/oauth-params';
import { checkConsumedState, createAttempt, hashValue } from '../core/oauth-state';
import type {
  ApprovalIdentity,
  AuthorizationCodeClient,
  EventPublisher,
  OAuthStateStore,
  OrgRegistry,
  ServiceLogger,
  TokenExchanger,
} from '../core/ports';
import type { Clock, OrgRecord } from '../core/types';
import type { ApprovalLinks } from './approval-links';

/** The scopes requested: `api` for the token's use, `refresh_token` so the approval counts for JWT. */
export const APPROVAL_SCOPES = 'api refresh_token';

export interface ApprovalServiceDeps {
  readonly orgs: Pick<OrgRegistry, 'getOrg'>;
  readonly states: OAuthStateStore;
  readonly codes: AuthorizationCodeClient;
  /** Proves the fix; its success resolves the org's incidents as `approval_callback`. */
  readonly tokens: TokenExchanger;
  readonly events: EventPublisher;
  /** `source`, clock and id generator of the events this service publishes. */
  readonly eventContext: EventContext;
  readonly clock: Clock;
  readonly logger: ServiceLogger;
  /** The API's public base URL, no trailing slash (`PUBLIC_BASE_URL`). */
  readonly publicBaseUrl: string;
  /** Checks the link `start` is given; mints the one a failure page offers. */
  readonly links: ApprovalLinks;
  /** Lifetime of an attempt. @default 600 (set by the handler's config) */
  readonly stateTtlSeconds: number;
}

export type StartResult =
  | {
      readonly kind: 'redirect';
      /** The Salesforce authorize URL; built only from the org record and fresh values. */
      readonly location: string;
      /** The browser-binding value to set as the cookie, for `maxAgeSeconds`. */
      readonly cookieValue: string;
      readonly maxAgeSeconds: number;
    }
  | { readonly kind: 'page'; readonly outcome: ApprovalOutcome };

export interface ApprovalService {
  start(input: {
    readonly query: MultiValueQuery;
    readonly cookieValue: string | undefined;
  }): Promise<StartResult>;
  complete(input: {
    readonly query: MultiValueQuery;
    readonly cookieValue: string | undefined;
    readonly requestId: string;
    readonly deadline: RequestDeadline;
  }): Promise<ApprovalOutcome>;
}

export function createApprovalService(deps: ApprovalServiceDeps): ApprovalService {
  const redirectUri = buildRedirectUri(deps.publicBaseUrl);
  const approvalLinkFor = (orgId: string) => deps.links.mintForRemediation(orgId);

  async function publishOutcome(
    outcome: ApprovalOutcome,
    org: OrgRecord | undefined,
    requestId: string,
  ): Promise<void> {
    deps.logger.info('approval outcome', {
      outcome: outcome.kind,
      category: outcome.category,
      org_id: outcome.orgId,
      approver: outcome.approver,
      granted_scopes: outcome.grantedScopes,
      request_id: requestId,
    });
    // Without a known org there is no subject to publish about (state unknown, bad request).
    if (!org) return;
    const base = {
      orgId: org.orgId,
      integrationUsername: org.username,
      approverUsername: outcome.approver,
      grantedScopes: outcome.grantedScopes,
      jwtExchangeWorks: outcome.jwt.ran && outcome.jwt.ok,
      requestId,
    };
    if (outcome.succeeded || !outcome.category) {
      await deps.events.publish(buildApprovalCompleted(deps.eventContext, base));
      return;
    }
    await deps.events.publish(
      buildApprovalFailed(deps.eventContext, {
        ...base,
        category: outcome.category,
        salesforce: outcome.salesforce,
        remediation: {
          summary: outcome.summary,
          steps: outcome.steps,
          approvalLink: outcome.approvalLink,
        },
      }),
    );
  }

  async function verify(
    org: OrgRecord,
    identity: ApprovalIdentity,
    context: { requestId: string; deadline: RequestDeadline },
  ): Promise<ApprovalOutcome> {
    let jwt: { ok: true } | { ok: false; error: BrokerError };
    try {
      await deps.tokens.exchangeFresh(org, { ...context, cause: 'approval_callback' });
      jwt = { ok: true };
    } catch (error) {
      if (!isBrokerError(error)) throw error;
      jwt = { ok: false, error };
    }
    const outcome = decideVerification({
      org,
      approver: identity.username,
      grantedScopes: identity.grantedScopes,
      jwt,
      approvalLink: await approvalLinkFor(org.orgId),
    });
    if (!isStrayApproval(org, identity.username)) return outcome;
    // After the proof, not before: the exchange must not depend on an approval about to go.
    const revoked = await identity.revokeApproval();
    deps.logger.info('stray approval revoked', {
      org_id: org.orgId,
      approver: identity.username,
      revoked,
      request_id: context.requestId,
    });
    return noteStrayApproval(outcome, revoked);
  }

  return {
    async start({ query, cookieValue }) {
      // Nothing about the org is read, nor told, before the link proves the broker issued it.
      const parsed = parseAuthorizeQuery(query);
      const valid = parsed.ok && (await deps.links.verify(parsed.value));
      const org = parsed.ok && valid ? await deps.orgs.getOrg(parsed.value.orgId) : undefined;
      if (!org) {
        deps.logger.info('approval link refused', {
          reason: !parsed.ok ? parsed.message : valid ? 'org not registered' : 'expired or bad MAC',
        });
        return { kind: 'page', outcome: decideApprovalLinkRefused() };
      }
      const attempt = createAttempt({
        orgId: org.orgId,
        loginUrl: org.loginUrl,
        existingCookieValue: cookieValue,
        now: deps.clock(),
        ttlSeconds: deps.stateTtlSeconds,
      });
      await deps.states.save(attempt.record);
      const authorize = new URLSearchParams({
        response_type: 'code',
        client_id: org.consumerKey,
        redirect_uri: redirectUri,
        state: attempt.state,
        code_challenge: attempt.pkce.challenge,
        code_challenge_method: 'S256',
        scope: APPROVAL_SCOPES,
        login_hint: org.username,
        // An existing Salesforce session (usually the admin's) would otherwise approve silently
        // as the wrong user; forcing the login lets the operator sign in as the integration user.
        prompt: 'login',
      });
      deps.logger.info('approval started', { org_id: org.orgId });
      return {
        kind: 'redirect',
        location: `${org.loginUrl}/services/oauth2/authorize?${authorize}`,
        cookieValue: attempt.cookieValue,
        maxAgeSeconds: deps.stateTtlSeconds,
      };
    },

    async complete({ query, cookieValue, requestId, deadline }) {
      const parsed = parseCallbackQuery(query);
      if (!parsed.ok) {
        const outcome = decideInvalidRequest(parsed.message);
        await publishOutcome(outcome, undefined, requestId);
        return outcome;
      }
      const params = parsed.value;
      if (!params.state || !params.stateWellFormed) {
        const outcome = decideStateFailure(params.state ? 'malformed' : 'missing');
        await publishOutcome(outcome, undefined, requestId);
        return outcome;
      }

      const record = await deps.states.consume(hashValue(params.state));
      const org = record ? await deps.orgs.getOrg(record.orgId) : undefined;
      const check = checkConsumedState({
        record,
        cookieValue,
        now: deps.clock(),
        currentLoginUrl: org?.loginUrl,
      });
      if (!check.ok) {
        const outcome = decideStateFailure(check.reason, {
          orgId: check.orgId,
          approvalLink: org && (await approvalLinkFor(org.orgId)),
        });
        await publishOutcome(outcome, org, requestId);
        return outcome;
      }
      // checkConsumedState only passes when the org exists at the attempt's login host.
      const approvedOrg = org as OrgRecord;

      let outcome: ApprovalOutcome;
      if (params.error) {
        outcome = decideAuthorizeError(
          approvedOrg,
          { error: params.error, errorDescription: params.errorDescription },
          await approvalLinkFor(approvedOrg.orgId),
        );
      } else {
        outcome = await redeemAndVerify(
          approvedOrg,
          params.code as string,
          check.record.codeVerifier,
          {
            requestId,
            deadline,
          },
        );
      }
      await publishOutcome(outcome, approvedOrg, requestId);
      return outcome;
    },
  };

  async function redeemAndVerify(
    org: OrgRecord,
    code: string,
    codeVerifier: string,
    context: { requestId: string; deadline: RequestDeadline },
  ): Promise<ApprovalOutcome> {
    let identity: ApprovalIdentity;
    try {
      identity = await deps.codes.redeemCode({
        org,
        code,
        codeVerifier,
        redirectUri,
        deadline: context.deadline.salesforceBy,
      });
    } catch (error) {
      const brokerError = isBrokerError(error)
        ? error
        : new BrokerError('code_exchange_failed', 'The authorization code could not be redeemed.', {
            cause: error,
          });
      deps.logger.warn('approval code exchange failed', {
        org_id: org.orgId,
        salesforce: brokerError.salesforce,
        request_id: context.requestId,
      });
      return decideCodeExchangeFailure(org, brokerError, await approvalLinkFor(org.orgId));
    }
    return verify(org, identity, context);
  }
}
