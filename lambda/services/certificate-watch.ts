/**
 * Certificate expiry, watched (docs/runbook.md#certificate-expiry): the one place that announces
 * a crossed threshold (`token_broker.certificate.expiring`, once per threshold and certificate,
 * claimed in the org registry), used by the JWT exchange after a fresh exchange and by the daily
 * check (`check_certificates`), which reads every JWT org's current signing key so that an org
 * nobody exchanges for still reports its days to expiry.
 */
import { countDaysToExpiry, selectCrossedThreshold } from '../core/certificate-expiry';
import { type RequestDeadline, SYSTEM_TIME, settleBy, type TimeSource } from '../core/deadline';
import { isBrokerError } from '../core/errors';
import { buildCertificateExpiring, type EventContext } from '../core/events';
import { selectCurrentKey } from '../core/key-rotation';
import { grantOf } from '../core/org-record';
import type {
  CertificateAlertStore,
  EventPublisher,
  ExchangeReporter,
  KeyRotationStore,
  OrgRegistry,
  ServiceLogger,
  SigningKey,
  SigningKeyProvider,
} from '../core/ports';
import type { Clock, OrgRecord } from '../core/types';

/** Where crossed thresholds are claimed and announced. */
export interface CertificateAlerts {
  readonly store: CertificateAlertStore;
  readonly publisher: EventPublisher;
  readonly eventContext: EventContext;
  readonly logger: ServiceLogger;
}

/**
 * `certificate.expiring` when `days` is within a threshold: the one caller whose conditional
 * write records the alert publishes it. Never throws for a failed claim (logged instead).
 * @returns whether this call announced it
 */
export async function announceCertificateExpiry(
  alerts: CertificateAlerts,
  org: OrgRecord,
  key: SigningKey,
  days: number,
): Promise<boolean> {
  const threshold = selectCrossedThreshold(days);
  const certificate = key.certificate;
  if (threshold === undefined || !certificate) return false;
  const claimed = await alerts.store
    .claimCertificateAlert(org.orgId, {
      fingerprintSha256: certificate.fingerprintSha256,
      threshold,
    })
    .catch((error: unknown) => {
      alerts.logger.warn('Recording the certificate expiry alert failed', {
        org_id: org.orgId,
        error_name: (error as Error).name,
      });
      return false;
    });
  if (!claimed) return false;
  await alerts.publisher.publish(
    buildCertificateExpiring(alerts.eventContext, {
      orgId: org.orgId,
      signingKey: key.secretId,
      certificateFingerprintSha256: certificate.fingerprintSha256,
      notAfter: certificate.notAfter,
      daysToExpiry: days,
      threshold,
    }),
  );
  return true;
}

export interface CertificateCheckDeps {
  readonly registry: Pick<OrgRegistry, 'listOrgs'>;
  /** The org's staged rotation says which key is current; its alerts are claimed here too. */
  readonly store: KeyRotationStore & CertificateAlertStore;
  readonly signingKeys: SigningKeyProvider;
  readonly reporter: Pick<ExchangeReporter, 'reportCertificateDaysToExpiry'>;
  readonly publisher: EventPublisher;
  readonly eventContext: EventContext;
  readonly logger: ServiceLogger;
  readonly clock: Clock;
  /** @default real time */
  readonly time?: TimeSource;
}

/** What one check found. */
export interface CertificateCheckSummary {
  /** JWT orgs in the registry. */
  readonly orgs: number;
  /** Orgs whose days to expiry were reported. */
  readonly checked: number;
  /** Orgs whose key (or rotation state) could not be read, or whose certificate is unknown. */
  readonly failed: number;
  /** Orgs not reached before the deadline. */
  readonly skipped: number;
  /** Thresholds announced by this check. */
  readonly announced: number;
}

export interface CertificateCheck {
  run(deadline: RequestDeadline): Promise<CertificateCheckSummary>;
}

type OrgOutcome = 'checked' | 'failed' | 'announced';

export function createCertificateCheck(deps: CertificateCheckDeps): CertificateCheck {
  const time = deps.time ?? SYSTEM_TIME;
  const alerts: CertificateAlerts = deps;

  async function checkOrg(org: OrgRecord): Promise<OrgOutcome> {
    const rotation = await deps.store.getKeyRotation(org.orgId);
    const key = await deps.signingKeys.getSigningKey(selectCurrentKey(org, rotation));
    const notAfter = key.certificate?.notAfter;
    if (notAfter === undefined) {
      deps.logger.warn('Certificate check: the signing key carries no certificate', {
        org_id: org.orgId,
        signing_key: key.secretId,
      });
      return 'failed';
    }
    const days = countDaysToExpiry(notAfter, deps.clock());
    deps.reporter.reportCertificateDaysToExpiry(org.orgId, days);
    return (await announceCertificateExpiry(alerts, org, key, days)) ? 'announced' : 'checked';
  }

  return {
    async run(deadline) {
      const orgs = (await deps.registry.listOrgs()).filter((org) => grantOf(org) === 'jwt_bearer');
      let checked = 0;
      let failed = 0;
      let announced = 0;
      let next = 0;
      for (; next < orgs.length && time.now() < deadline.salesforceBy; next += 1) {
        const org = orgs[next] as OrgRecord;
        try {
          const outcome = await settleBy(checkOrg(org), deadline.salesforceBy, time);
          // Out of time: this org and the rest are counted as skipped; tomorrow's run reaches them.
          if (!outcome.settled) break;
          if (outcome.value === 'failed') failed += 1;
          else checked += 1;
          if (outcome.value === 'announced') announced += 1;
        } catch (error) {
          // One org's unreadable key must not stop the others.
          failed += 1;
          deps.logger.warn('Certificate check failed for an org', {
            org_id: org.orgId,
            ...(isBrokerError(error) ? { category: error.category } : {}),
            error_name: (error as Error).name,
          });
        }
      }
      return { orgs: orgs.length, checked, failed, skipped: orgs.length - next, announced };
    },
  };
}
