import { type ILogGroup, QueryDefinition, QueryString } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DIMENSION, METRIC } from '../lambda/core/metrics';

export interface SavedQueriesProps {
  /** Folder shown in the Logs Insights console, e.g. `salesforce-token-broker/prod`. */
  readonly folder: string;
  readonly functionLogGroups: readonly ILogGroup[];
  readonly accessLogGroup: ILogGroup;
}

/** What the operator replaces in the "by request id" query before running it. */
export const REQUEST_ID_PLACEHOLDER = 'PASTE-REQUEST-ID';

/**
 * Saved Logs Insights queries over both functions' log groups. The failure, latency and approval
 * queries read the EMF metric records (their fields are the metric names of
 * lambda/core/metrics.ts plus the `orgId` metadata), so they cannot drift from the metrics.
 */
export class SavedQueries extends Construct {
  readonly definitions: QueryDefinition[];

  constructor(scope: Construct, id: string, props: SavedQueriesProps) {
    super(scope, id);
    const logGroups = [...props.functionLogGroups];
    const category = DIMENSION.category;
    const define = (name: string, queryString: QueryString, groups = logGroups) =>
      new QueryDefinition(this, name, {
        queryDefinitionName: `${props.folder}/${name}`,
        queryString,
        logGroups: groups,
      });
    this.definitions = [
      define(
        'failures-by-org-and-category',
        new QueryString({
          filterStatements: [`ispresent(${METRIC.exchangeFailures})`],
          statsStatements: [`sum(${METRIC.exchangeFailures}) as failures by orgId, ${category}`],
          sort: 'failures desc',
        }),
      ),
      define(
        'slowest-exchanges',
        new QueryString({
          fields: ['@timestamp', 'orgId', METRIC.exchangeLatency, 'function_request_id'],
          filterStatements: [`ispresent(${METRIC.exchangeLatency})`],
          sort: `${METRIC.exchangeLatency} desc`,
          limit: 50,
        }),
      ),
      define(
        'approvals',
        new QueryString({
          fields: [
            '@timestamp',
            'orgId',
            category,
            METRIC.approvalsCompleted,
            METRIC.approvalsFailed,
            'function_request_id',
          ],
          filterStatements: [
            `ispresent(${METRIC.approvalsCompleted}) or ispresent(${METRIC.approvalsFailed})`,
          ],
          sort: '@timestamp desc',
          limit: 100,
        }),
      ),
      // Matches the API Gateway request id (error bodies' request_id, access log) as well as the
      // Lambda request id, so one id finds the whole trail.
      define(
        'by-request-id',
        new QueryString({
          fields: ['@timestamp', '@log', 'level', 'message', 'orgId', 'category', 'status'],
          filterStatements: [
            ['requestId', 'request_id', 'function_request_id', '@requestId']
              .map((field) => `${field} = '${REQUEST_ID_PLACEHOLDER}'`)
              .join(' or '),
          ],
          sort: '@timestamp asc',
          limit: 200,
        }),
        [...logGroups, props.accessLogGroup],
      ),
    ];
  }
}
