/**
 * The JWT Bearer exchange: read the org's signing key, sign an assertion, POST it to the org's
 * token endpoint, and turn the classified answer into a grant or a {@link BrokerError} with its
 * remediation. After `invalid_assertion` the key is re-read once and, if it changed, the exchange
 * is tried again with it; if Salesforce still refuses it and a key is staged (staged rotation,
 * lambda/core/key-rotation.ts), the staged key is tried once and, when Salesforce takes it,
 * promoted for every instance (`token_broker.key.rotated`). The promotion is the only thing
 * recorded here: the next exchange anywhere must sign with the new key. Other bookkeeping is the
 * caller's.
 */
import { buildAssertionClaims, signAssertion } from '../core/assertion';
import { countDaysToExpiry } from '../core/certificate-expiry';
import type { Classification } from '../core/classify';
import { SYSTEM_TIME, settleBy, type TimeSource } from '../core/deadline';
import { BrokerError, isBrokerError } from '../core/errors';
import { buildKeyRotated, type EventContext } from '../core/events';
import { type KeyRotation, selectCurrentKey, selectStagedKey } from '../core/key-rotation';
import type {
  CertificateAlertStore,
  EventPublisher,
  GrantExchange,
  KeyRotationStore,
  ServiceLogger,
  SigningKey,
  SigningKeyProvider,
  TokenEndpointClient,
  TokenEndpointResult,
} from '../core/ports';
import type { Clock, OrgRecord } from '../core/types';
import { announceCertificateExpiry } from './certificate-watch';
import { type FailurePolicy, toExchangeResult } from './exchange-outcome';

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** How long an instance trusts the rotation state it read, ms: as long as the org record. */
const ROTATION_TTL_MS = 30_000;
/** How long a routine rotation read may hold up an exchange, ms; DynamoDB answers in ~10. */
const ROTATION_READ_WAIT_MS = 200;

export interface JwtExchangeDeps extends FailurePolicy {
  readonly signingKeys: SigningKeyProvider;
  readonly tokenEndpoint: TokenEndpointClient;
  readonly clock: Clock;
  /** Timers of the bounded rotation read. @default real time */
  readonly time?: TimeSource;
  /**
   * Staged rotation: where the promoted and staged keys are, and where a promotion is announced.
   * @default none: the registry's `signingKeySecretId` only
   */
  readonly rotation?: {
    /** Also where certificate-expiry alerts are claimed, once per threshold and certificate. */
    readonly store: KeyRotationStore & CertificateAlertStore;
    readonly publisher: EventPublisher;
    readonly eventContext: EventContext;
    readonly logger: ServiceLogger;
  };
}

export function createJwtExchange(deps: JwtExchangeDeps): GrantExchange {
  const { clock } = deps;

  function post(org: OrgRecord, key: SigningKey, salesforceBy: number) {
    return deps.tokenEndpoint.postForm(
      `${org.loginUrl}/services/oauth2/token`,
      async () => ({
        grant_type: JWT_BEARER_GRANT_TYPE,
        assertion: await signAssertion(buildAssertionClaims(org, clock()), key),
      }),
      { deadline: salesforceBy },
    );
  }

  const rotations = new Map<string, { rotation: KeyRotation | undefined; readAt: number }>();

  /**
   * The org's rotation state: from memory while younger than {@link ROTATION_TTL_MS}, else read.
   * A routine read waits at most {@link ROTATION_READ_WAIT_MS}: the state is a hint (a wrong guess
   * costs one refused attempt, after which it is read again with `fresh`), and a slow table must
   * not hold up a token whose key is known. A `fresh` read waits for the answer.
   */
  async function readRotation(
    org: OrgRecord,
    { fresh = false }: { readonly fresh?: boolean } = {},
  ): Promise<KeyRotation | undefined> {
    const rotation = deps.rotation;
    if (!rotation) return undefined;
    const known = rotations.get(org.orgId);
    if (!fresh && known && clock() - known.readAt < ROTATION_TTL_MS) return known.rotation;
    const read = rotation.store.getKeyRotation(org.orgId, { fresh }).then(
      (value) => {
        rotations.set(org.orgId, { rotation: value, readAt: clock() });
        return value;
      },
      (error: unknown) => {
        rotation.logger.warn('Reading the key rotation failed; using the last known key', {
          org_id: org.orgId,
          error_name: (error as Error).name,
        });
        return known?.rotation;
      },
    );
    if (fresh) return read;
    const settled = await settleBy(
      read,
      (deps.time ?? SYSTEM_TIME).now() + ROTATION_READ_WAIT_MS,
      deps.time,
    );
    return settled.settled ? settled.value : known?.rotation;
  }

  /** `certificate.expiring` once per threshold crossed and certificate; never fails the exchange. */
  async function announceExpiry(org: OrgRecord, key: SigningKey, days: number): Promise<void> {
    if (deps.rotation) await announceCertificateExpiry(deps.rotation, org, key, days);
  }

  /** Records the staged key as current; the one instance that wins announces it. */
  async function promote(
    org: OrgRecord,
    staged: SigningKey,
    previous: string,
    requestId: string,
  ): Promise<void> {
    const rotation = deps.rotation;
    if (!rotation) return;
    const promotedAt = new Date(clock()).toISOString();
    const won = await rotation.store
      .promoteStagedKey(org.orgId, { staged: staged.secretId, previous, at: promotedAt })
      .catch((error: unknown) => {
        // The exchange succeeded; the next one here or elsewhere promotes again.
        rotation.logger.warn('Recording the key promotion failed', {
          org_id: org.orgId,
          error_name: (error as Error).name,
        });
        return false;
      });
    if (!won) return;
    rotation.logger.info('Staged signing key promoted', {
      org_id: org.orgId,
      previous_key: previous,
      current_key: staged.secretId,
    });
    await rotation.publisher.publish(
      buildKeyRotated(rotation.eventContext, {
        orgId: org.orgId,
        previousKey: previous,
        currentKey: staged.secretId,
        keyKind: staged.kind,
        certificateFingerprintSha256: staged.certificate?.fingerprintSha256,
        promotedAt,
        requestId,
      }),
    );
  }

  return {
    async run(org, { requestId, salesforceBy }) {
      const base = { orgId: org.orgId, requestId };
      const rotation = await readRotation(org);
      const currentId = selectCurrentKey(org, rotation);
      let key: SigningKey;
      try {
        key = await deps.signingKeys.getSigningKey(currentId);
      } catch (cause) {
        const error = isBrokerError(cause)
          ? cause
          : new BrokerError('signing_key_unavailable', 'The signing key could not be loaded', {
              cause,
            });
        return {
          ok: false,
          error,
          report: {
            ...base,
            ok: false,
            category: error.category,
            salesforce: undefined,
            latencyMs: 0,
            attempts: 0,
            keyReread: false,
          },
        };
      }

      let result: TokenEndpointResult = await post(org, key, salesforceBy);
      let latencyMs = result.latencyMs;
      let attempts = result.attempts;
      let classification: Classification = result.classification;
      let keyReread = false;
      const refused = () => !classification.ok && classification.category === 'invalid_assertion';
      let used = key;
      const retryWith = async (next: SigningKey) => {
        used = next;
        result = await post(org, next, salesforceBy);
        latencyMs += result.latencyMs;
        attempts += result.attempts;
        classification = result.classification;
      };
      if (refused()) {
        // The key may have been rotated since it was cached: re-read once, retry only if it changed.
        const reread = await deps.signingKeys
          .getSigningKey(currentId, { forceRefresh: true })
          .catch(() => undefined);
        keyReread = true;
        if (reread && (reread.versionId === undefined || reread.versionId !== key.versionId)) {
          await retryWith(reread);
        }
      }
      // Another instance may have promoted a key meanwhile, or one may be staged: read afresh.
      const latest = refused() ? await readRotation(org, { fresh: true }) : rotation;
      const promotedId = selectCurrentKey(org, latest);
      if (refused() && promotedId !== currentId) {
        const promoted = await deps.signingKeys.getSigningKey(promotedId).catch(() => undefined);
        if (promoted) await retryWith(promoted);
      }
      const stagedId = selectStagedKey(latest, currentId);
      if (refused() && stagedId) {
        // The certificate in Salesforce was swapped for the staged key's: try it once.
        const staged = await deps.signingKeys.getSigningKey(stagedId).catch(() => undefined);
        if (staged) {
          await retryWith(staged);
          if (classification.ok) {
            await promote(org, staged, currentId, requestId);
            // Read again next time: the promotion (this one or another's) is now the current key.
            rotations.delete(org.orgId);
          }
        }
      }

      const notAfter = used.certificate?.notAfter;
      const certificateDaysToExpiry =
        notAfter === undefined ? undefined : countDaysToExpiry(notAfter, clock());
      const measured = {
        ...base,
        latencyMs,
        attempts,
        keyReread,
        certificateDaysToExpiry,
        keyFingerprint: used.certificate?.fingerprintSha256,
      };
      if (classification.ok && certificateDaysToExpiry !== undefined) {
        await announceExpiry(org, used, certificateDaysToExpiry);
      }
      return toExchangeResult(classification, org, measured, clock(), deps);
    },
  };
}
