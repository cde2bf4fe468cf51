import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../lambda/adapters/table-schema';

/**
 * The single table (org registry, OAuth state, incident ledger), built from the same schema the
 * adapters and the local runtime use. On-demand: traffic is a trickle of cache misses.
 */
export function createBrokerTable(scope: Construct, removalPolicy: RemovalPolicy): Table {
  const table = new Table(scope, 'Table', {
    partitionKey: { name: TABLE_SCHEMA.partitionKey, type: AttributeType.STRING },
    sortKey: { name: TABLE_SCHEMA.sortKey, type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // The AWS managed key: encrypted at rest, auditable in CloudTrail, and callers need no KMS grant.
    encryption: TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
    removalPolicy,
    deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
  });
  table.addGlobalSecondaryIndex({
    indexName: TABLE_SCHEMA.orgIndex.name,
    partitionKey: { name: TABLE_SCHEMA.orgIndex.partitionKey, type: AttributeType.STRING },
    sortKey: { name: TABLE_SCHEMA.orgIndex.sortKey, type: AttributeType.STRING },
    projectionType: ProjectionType.ALL,
  });
  return table;
}
