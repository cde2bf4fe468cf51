/**
 * The Powertools Logger and Metrics shared by every handler in a function. Service name and
 * namespace come from the POWERTOOLS_* variables when set (the CDK stack sets them).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRIC_NAMESPACE, SERVICE_NAME as serviceName } from '../core/metrics';

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName });
