/**
 * The pure decision of what an approval attempt came to, and what its page says. Each step of
 * the callback (state, Salesforce's error parameters, the code exchange, the identity and the
 * JWT re-run) has one function here; the service calls the first that applies.
 *
 * `OAUTH_APP_ACCESS_DENIED` ("user is not admin approved to access this app") maps to
 * `user_not_admin_approved`, not `approval_blocked`: it is the very signal (and fix) of the token
 * API's category of that name, whereas `approval_blocked` means an admin blocked the app outright.
 */
import { CATEGORY_TRAITS, type Category } from './categories';
import type { BrokerError } from './errors';
import type { PageTone } from './html';
import type { StateFailure } from './oauth-state';
import type { OrgRecord, Remediation, SalesforceErrorDetail } from './types';

export type OutcomeKind =
  | 'verified'
  | 'approver_mismatch'
  | 'refresh_token_scope_missing'
  | 'jwt_still_failing'
  | 'approval_denied'
  | 'approval_blocked'
  | 'user_not_admin_approved'
  | 'app_not_installed'
  | 'authorize_error'
  | 'state_invalid'
  | 'code_exchange_failed'
  | 'invalid_request'
  | 'link_invalid';

/** Whether the JWT exchange was re-run after the approval, and how it went. */
export type JwtCheck =
  | { readonly ran: false }
  | { readonly ran: true; readonly ok: true }
  | { readonly ran: true; readonly ok: false; readonly error: BrokerError };

export interface PageFact {
  readonly label: string;
  readonly value: string;
}

/** Everything the result page and the events need. Never holds a code or a token. */
export interface ApprovalOutcome {
  readonly kind: OutcomeKind;
  readonly succeeded: boolean;
  /** How the page looks: `notice` for a refusal that is no cause for alarm (a reload). */
  readonly tone: PageTone;
  /** The failure category; `undefined` when verified. */
  readonly category: Category | undefined;
  readonly httpStatus: number;
  /** The org the attempt was for, when known. */
  readonly orgId: string | undefined;
  readonly title: string;
  readonly summary: string;
  readonly facts: readonly PageFact[];
  readonly steps: readonly string[];
  /** The broker's approval link for the org, offered to start again. */
  readonly approvalLink: string | undefined;
  /** What Salesforce reported (authorize error, code exchange or JWT), shown escaped. */
  readonly salesforce: SalesforceErrorDetail | undefined;
  /** The JWT failure's remediation, when the exchange still fails. */
  readonly remediation: Remediation | undefined;
  /** Username that approved, when the identity was read. */
  readonly approver: string | undefined;
  readonly grantedScopes: readonly string[] | undefined;
  readonly jwt: JwtCheck;
}

interface Base {
  readonly orgId?: string | undefined;
  readonly approvalLink?: string | undefined;
}

function failure(
  kind: OutcomeKind,
  category: Category,
  text: Base & {
    readonly title: string;
    readonly summary: string;
    readonly steps: readonly string[];
    readonly facts?: readonly PageFact[];
    readonly salesforce?: SalesforceErrorDetail | undefined;
    readonly remediation?: Remediation | undefined;
    readonly approver?: string | undefined;
    readonly grantedScopes?: readonly string[] | undefined;
    readonly jwt?: JwtCheck;
    readonly tone?: PageTone;
  },
): ApprovalOutcome {
  return {
    kind,
    succeeded: false,
    tone: text.tone ?? 'fail',
    category,
    httpStatus: CATEGORY_TRAITS[category].httpStatus,
    orgId: text.orgId,
    title: text.title,
    summary: text.summary,
    facts: text.facts ?? [],
    steps: text.steps,
    approvalLink: text.approvalLink,
    salesforce: text.salesforce,
    remediation: text.remediation,
    approver: text.approver,
    grantedScopes: text.grantedScopes,
    jwt: text.jwt ?? { ran: false },
  };
}

const startAgain = (org: OrgRecord) =>
  `Open the approval link again, log in to Salesforce as ${org.username} (the integration user) and click Allow.`;

/** A parameter was missing, repeated, overlong or contradictory. */
export function decideInvalidRequest(message: string): ApprovalOutcome {
  return failure('invalid_request', 'invalid_request', {
    title: 'Invalid request',
    summary: message,
    steps: ['Start from the approval link the broker printed or sent; do not edit it by hand.'],
  });
}

/**
 * The one answer of `GET /oauth/authorize` to a link it does not honour: missing parts, altered,
 * expired, or for an org that is not registered all look the same, so the route tells nobody
 * which org ids exist.
 */
export function decideApprovalLinkRefused(): ApprovalOutcome {
  return failure('link_invalid', 'invalid_request', {
    title: 'This approval link cannot be used',
    summary:
      'The link is incomplete, was changed, has expired, or is not one this broker issued. Approval links work for a limited time.',
    steps: [
      'Open the link from the latest incident or reminder, exactly as it was sent.',
      'Or ask the operator for a fresh one: token-broker approval-url --org ID.',
    ],
  });
}

const STATE_TEXT: Readonly<Record<StateFailure, string>> = {
  missing: 'The callback carried no state, so it cannot be tied to an approval the broker started.',
  malformed: 'The state in the callback is not one this broker issues.',
  unknown_or_used: 'This approval link is unknown or was already used.',
  expired: 'This approval attempt expired before Salesforce sent the browser back.',
  cookie_missing:
    'This browser did not start this approval attempt (its binding cookie is missing).',
  cookie_mismatch: 'This browser did not start this approval attempt (its binding cookie differs).',
  org_not_found:
    'The org this approval attempt was for is no longer registered with this broker: it was removed after the attempt started.',
  org_changed: "The org's login URL changed after this approval attempt started.",
};

function stateFailureStep(reason: StateFailure, approvalLink: string | undefined): string {
  if (reason === 'org_not_found') {
    return 'Register the org again (or check which org the approval was meant for), then open its approval link.';
  }
  return approvalLink
    ? 'Open the approval link again and finish the approval in the same browser, within a few minutes.'
    : 'Open the approval link the broker printed or sent, and finish the approval in the same browser, within a few minutes.';
}

/**
 * A used state is what a reload (or the browser's back and forward) of a finished callback
 * sends: the approval was handled the first time, so the page says so calmly and tells how to
 * see how it went. The attempt's record is gone by then, so the org is named only when the
 * caller knows it.
 */
function decideUsedState(context: Base): ApprovalOutcome {
  const org = context.orgId ?? 'ORG_ID';
  return failure('state_invalid', 'state_invalid', {
    ...context,
    tone: 'notice',
    title: 'Approval already handled',
    summary: `This approval link is unknown or was already used. Each link works once: if you just approved and reloaded this page, the broker already handled that approval and there is nothing more to do here.`,
    facts: [{ label: 'Reason', value: 'unknown_or_used' }],
    steps: [
      `See whether the JWT exchange works now: run token-broker verify --org ${org}, or GET /orgs/${context.orgId ?? '{orgId}'}/status on the broker (last exchange, open incidents).`,
      `If it still fails, start a new approval from the approval link (token-broker approval-url --org ${org}).`,
    ],
  });
}

/** The callback's state was refused; nothing was exchanged. */
export function decideStateFailure(reason: StateFailure, context: Base = {}): ApprovalOutcome {
  if (reason === 'unknown_or_used') return decideUsedState(context);
  return failure('state_invalid', 'state_invalid', {
    ...context,
    title: 'Approval link expired or not valid here',
    summary: STATE_TEXT[reason],
    facts: [{ label: 'Reason', value: reason }],
    steps: [stateFailureStep(reason, context.approvalLink)],
  });
}

/** Salesforce redirected back with `error` instead of a code. */
export function decideAuthorizeError(
  org: OrgRecord,
  reported: { readonly error: string; readonly errorDescription: string | undefined },
  approvalLink: string | undefined,
): ApprovalOutcome {
  const salesforce = {
    status: 0,
    error: reported.error,
    error_description: reported.errorDescription,
  };
  const context = { orgId: org.orgId, approvalLink, salesforce };
  switch (reported.error) {
    case 'access_denied':
      return failure('approval_denied', 'approval_denied', {
        ...context,
        title: 'Approval denied',
        summary: 'The app was not approved: Deny was clicked on the Salesforce approval page.',
        steps: [startAgain(org)],
      });
    case 'OAUTH_APP_BLOCKED':
      return failure('approval_blocked', 'approval_blocked', {
        ...context,
        title: 'App blocked in this org',
        summary: 'An administrator has blocked this app in the org, so nobody can approve it.',
        steps: [
          'In Salesforce Setup > Connected Apps OAuth Usage, find the app and click Unblock.',
          startAgain(org),
        ],
      });
    case 'OAUTH_APP_ACCESS_DENIED':
      return failure('user_not_admin_approved', 'user_not_admin_approved', {
        ...context,
        title: 'User not admin-approved for this app',
        summary:
          'The app admits only pre-authorized users (Permitted Users: admin approved), and the user who logged in is not one of them.',
        steps: [
          `In Salesforce Setup > Manage Connected Apps > the app > Manage Profiles or Manage Permission Sets, add the profile or a permission set of ${org.username}.`,
          'Pre-authorized users need no interactive approval: request a token, or open the approval link again, to verify.',
        ],
      });
    case 'OAUTH_EC_APP_NOT_FOUND':
      return failure('app_not_installed', 'app_not_installed', {
        ...context,
        title: 'App not installed in this org',
        summary:
          'The External Client App is not installed in this org, so it cannot be approved here.',
        steps: [
          'Install or deploy the External Client App into this org (or, for a Connected App, Setup > Connected Apps OAuth Usage > Install).',
          `Set its policies so that ${org.username} may use it, then open the approval link again.`,
        ],
      });
    default:
      return failure('authorize_error', 'unexpected_response', {
        ...context,
        title: 'Salesforce reported an error',
        summary: 'Salesforce sent the browser back with an error the broker does not recognise.',
        steps: [
          ...(reported.error === 'invalid_scope'
            ? [
                'Add the OAuth scopes "Manage user data via APIs (api)" and "Perform requests at any time (refresh_token, offline_access)" to the app.',
              ]
            : []),
          'Read the Salesforce error below, fix the app or user setting it names, then open the approval link again.',
        ],
      });
  }
}

/** The code could not be exchanged (or the identity could not be read). */
export function decideCodeExchangeFailure(
  org: OrgRecord,
  error: BrokerError,
  approvalLink: string | undefined,
): ApprovalOutcome {
  return failure('code_exchange_failed', 'code_exchange_failed', {
    orgId: org.orgId,
    approvalLink,
    salesforce: error.salesforce,
    title: 'Approval could not be completed',
    summary: `Salesforce sent the browser back, but the broker could not complete the approval: ${error.message}`,
    steps: [
      'If Salesforce says "invalid client credentials", the app requires a secret for the web-server flow: set the org\'s consumerSecretId.',
      'If Salesforce says "expired authorization code", the approval took too long or was replayed.',
      'Open the approval link again.',
    ],
  });
}

const hasRefreshTokenScope = (scopes: readonly string[]) =>
  scopes.includes('refresh_token') || scopes.includes('offline_access');

/**
 * The approval went through: decides from who approved, with which scopes, and whether the JWT
 * exchange now works. A working exchange always wins: the page then reports success, with a note
 * when someone other than the integration user approved.
 */
export function decideVerification(input: {
  readonly org: OrgRecord;
  readonly approver: string;
  readonly grantedScopes: readonly string[];
  readonly jwt: { readonly ok: true } | { readonly ok: false; readonly error: BrokerError };
  readonly approvalLink: string | undefined;
}): ApprovalOutcome {
  const { org, approver, grantedScopes } = input;
  const sameUser = approver.toLowerCase() === org.username.toLowerCase();
  const facts: PageFact[] = [
    { label: 'Org', value: org.orgId },
    { label: 'Approved as', value: approver },
    { label: 'Integration user (JWT sub)', value: org.username },
    { label: 'Granted scopes', value: grantedScopes.join(' ') || '(none)' },
  ];
  const common = {
    orgId: org.orgId,
    approvalLink: input.approvalLink,
    approver,
    grantedScopes,
  };
  if (input.jwt.ok) {
    return {
      ...common,
      kind: 'verified',
      succeeded: true,
      tone: 'ok',
      category: undefined,
      httpStatus: 200,
      title: 'Approved and verified',
      summary: `The broker's JWT exchange for ${org.orgId} now works: tokens for ${org.username} can be issued.`,
      facts: [...facts, { label: 'JWT exchange', value: 'works' }],
      steps: sameUser
        ? []
        : [
            `You approved as ${approver}, not as ${org.username}; the exchange works because the app pre-authorizes ${org.username}. No further action is needed.`,
          ],
      salesforce: undefined,
      remediation: undefined,
      jwt: { ran: true, ok: true },
    };
  }
  const { error } = input.jwt;
  const jwtFacts = [...facts, { label: 'JWT exchange', value: `fails: ${error.category}` }];
  const failed = {
    ...common,
    facts: jwtFacts,
    salesforce: error.salesforce,
    remediation: error.remediation,
    jwt: { ran: true, ok: false, error } as const,
  };
  if (!sameUser) {
    return failure('approver_mismatch', 'approver_mismatch', {
      ...failed,
      title: 'Approved by the wrong user',
      summary: `You approved as ${approver}; the broker signs as ${org.username}. Salesforce only counts the approval of the user named in the JWT, so the exchange still fails (${error.category}).`,
      steps: [
        `Either: ${startAgain(org)}`,
        `Or: in Salesforce Setup > Manage Connected Apps > the app > Edit Policies, set Permitted Users to "Admin approved users are pre-authorized", then under Manage Profiles or Manage Permission Sets assign the profile or a permission set of ${org.username} (a permission set of the Salesforce API Integration license cannot hold app assignments).`,
        'Then request a token, or open the approval link again, to verify.',
      ],
    });
  }
  if (!hasRefreshTokenScope(grantedScopes)) {
    return failure('refresh_token_scope_missing', error.category, {
      ...failed,
      title: 'Approved without the refresh_token scope',
      summary: `${approver} approved the app, but Salesforce did not grant the refresh_token scope. A JWT exchange only uses approvals that include refresh_token, so it still fails (${error.category}).`,
      steps: [
        'Add the OAuth scope "Perform requests at any time (refresh_token, offline_access)" to the app (changes can take up to 10 minutes to apply).',
        startAgain(org),
      ],
    });
  }
  return failure('jwt_still_failing', error.category, {
    ...failed,
    title: 'Approved, but the JWT exchange still fails',
    summary: `${approver} approved the app with the right scopes, but the broker's JWT exchange still fails: ${error.message}`,
    steps: error.remediation?.steps.length
      ? error.remediation.steps
      : ['Read the Salesforce error below and follow the runbook entry for its category.'],
  });
}

/**
 * Whether an approval was made by someone other than the integration user (case-insensitive, as
 * Salesforce compares usernames). Such an approval is stray: with a self-authorize app, whoever
 * holds the broker's key could now mint tokens for that user. The integration user's own approval
 * is never stray: the JWT flow relies on it.
 */
export function isStrayApproval(org: Pick<OrgRecord, 'username'>, approver: string): boolean {
  return approver.toLowerCase() !== org.username.toLowerCase();
}

/** The outcome with what became of the stray approval: revoked, or left for the operator to revoke. */
export function noteStrayApproval(outcome: ApprovalOutcome, revoked: boolean): ApprovalOutcome {
  const approver = outcome.approver ?? 'the approving user';
  if (revoked) {
    return {
      ...outcome,
      summary: `${outcome.summary} The broker revoked ${approver}'s approval of the app in Salesforce again, so nobody can mint tokens for ${approver} with the broker's key.`,
      facts: [...outcome.facts, { label: `Approval by ${approver}`, value: 'revoked' }],
    };
  }
  return {
    ...outcome,
    facts: [...outcome.facts, { label: `Approval by ${approver}`, value: 'NOT revoked' }],
    steps: [
      `Revoke ${approver}'s approval of the app: in Salesforce Setup > Users > ${approver} > OAuth Connected Apps, click Revoke (the broker tried and Salesforce did not confirm).`,
      ...outcome.steps,
    ],
  };
}
