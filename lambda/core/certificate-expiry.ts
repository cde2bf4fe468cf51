/**
 * Certificate expiry (docs/runbook.md#certificate-expiry). Salesforce does not enforce the
 * uploaded certificate's expiry for the JWT Bearer flow, so nothing breaks when it passes: the
 * broker counts the days itself, as a metric on every exchange and in a daily check of every org
 * (lambda/services/certificate-watch.ts), and announces each threshold crossed (30, 14, 7, 1
 * days) once per certificate. Pure: no I/O.
 */
import { CERTIFICATE_EXPIRY_THRESHOLDS, type CertificateExpiryThreshold } from './events';

const DAY_MS = 86_400_000;

/** Whole days from `now` to `notAfter`, rounded down; negative once expired. */
export function countDaysToExpiry(notAfter: string, now: number): number {
  return Math.floor((Date.parse(notAfter) - now) / DAY_MS);
}

/** The lowest threshold `days` is within (20 days: 30; 5 days: 7; expired: 1), if any. */
export function selectCrossedThreshold(days: number): CertificateExpiryThreshold | undefined {
  let crossed: CertificateExpiryThreshold | undefined;
  for (const threshold of CERTIFICATE_EXPIRY_THRESHOLDS) if (days <= threshold) crossed = threshold;
  return crossed;
}

/** The last alert sent for an org (attribute `certificateAlerts`). */
export interface CertificateAlert {
  readonly fingerprintSha256: string;
  readonly threshold: CertificateExpiryThreshold;
}
