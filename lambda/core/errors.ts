import { CATEGORY_TRAITS, type Category } from './categories';
import type { Remediation, SalesforceErrorDetail } from './types';

export interface BrokerErrorOptions {
  readonly cause?: unknown;
  /** What Salesforce answered, when the failure came from Salesforce. Never contains a token. */
  readonly salesforce?: SalesforceErrorDetail;
  readonly remediation?: Remediation;
  /** Seconds a caller should wait before retrying; only meaningful for retryable categories. */
  readonly retryAfterSeconds?: number;
  /**
   * Answered from the fleet's failure memory: the same failure a recent exchange met, without
   * asking Salesforce again.
   * @default false
   */
  readonly remembered?: boolean;
}

/**
 * The one error type of the broker. Every failure, whatever its origin, becomes a `BrokerError`
 * with a stable {@link Category}; the HTTP status, retryability and severity follow from the
 * category ({@link CATEGORY_TRAITS}), so no handler decides them ad hoc.
 *
 * `message` is operator-facing text and must never contain a secret.
 */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  readonly category: Category;
  readonly salesforce: SalesforceErrorDetail | undefined;
  readonly remediation: Remediation | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly remembered: boolean;

  constructor(category: Category, message: string, options: BrokerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.category = category;
    this.salesforce = options.salesforce;
    this.remediation = options.remediation;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.remembered = options.remembered === true;
  }

  get retryable(): boolean {
    return CATEGORY_TRAITS[this.category].retryable;
  }

  get httpStatus(): number {
    return CATEGORY_TRAITS[this.category].httpStatus;
  }
}

export function isBrokerError(error: unknown): error is BrokerError {
  return error instanceof BrokerError;
}
