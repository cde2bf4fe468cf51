import { type ILogGroup, QueryDefinition, QueryString } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface SavedQueriesProps {
  /** Folder shown in the Logs Insights console, e.g. `salesforce-token-broker/prod`. */
  readonly folder: string;
  readonly functionLogGroups: readonly ILogGroup[];
  readonly accessLogGroup: ILogGroup;
}

/** What the operator replaces in the "by request id" query before running it. */
export const REQUEST_ID_PLACEHOLDER = 'PASTE-REQUEST-ID';

/** Both functions log the org as `org_id`. */
const ORG = 'org_id as org';
const LATENCY = 'upstream_latency_ms as latencyMs';

/**
 * Lines about incidents and events repeat a failure's category without being a failed request
 * ("Incident opened", "Incident resolved", "Event published"). Case-insensitive (`(?i)`): a
 * case-sensitive match missed them and counted every resolution as a failure.
 */
const NOT_INCIDENT_OR_EVENT = 'message not like /(?i)^(incident|event) /';

/**
 * Saved Logs Insights queries over both functions' log groups, built on the structured log fields
 * of docs/observability.md (`org_id`, `category`, `upstream_latency_ms`, `request_id`) and the
 * Powertools `function_request_id`, which is on every line of an invocation.
 */
export class SavedQueries extends Construct {
  readonly definitions: QueryDefinition[];

  constructor(scope: Construct, id: string, props: SavedQueriesProps) {
    super(scope, id);
    const logGroups = [...props.functionLogGroups];
    const define = (name: string, queryString: QueryString, groups = logGroups) =>
      new QueryDefinition(this, name, {
        queryDefinitionName: `${props.folder}/${name}`,
        queryString,
        logGroups: groups,
      });
    this.definitions = [
      // One failed request logs several lines with its category; count invocations, not lines.
      define(
        'failures-by-org-and-category',
        new QueryString({
          fields: ['@timestamp', ORG, 'category', 'function_request_id'],
          filterStatements: ['ispresent(category)', NOT_INCIDENT_OR_EVENT],
          statsStatements: [
            'count_distinct(function_request_id) as failures, max(@timestamp) as lastSeen by org, category',
          ],
          sort: 'failures desc',
        }),
      ),
      define(
        'slowest-exchanges',
        new QueryString({
          fields: ['@timestamp', ORG, LATENCY, 'category', 'attempts', 'function_request_id'],
          filterStatements: ['latencyMs >= 0'],
          sort: 'latencyMs desc',
          limit: 50,
        }),
      ),
      // Each exchange line carries its attempts: every attempt is a Salesforce login.
      define(
        'logins-by-org',
        new QueryString({
          fields: ['@timestamp', ORG, 'attempts'],
          filterStatements: ['attempts > 0'],
          statsStatements: ['sum(attempts) as logins by org, bin(1h) as hour'],
          sort: 'logins desc',
        }),
      ),
      define(
        'approvals',
        new QueryString({
          fields: [
            '@timestamp',
            ORG,
            'message',
            'outcome',
            'category',
            'approver',
            'granted_scopes',
            'request_id',
          ],
          filterStatements: ['message like /(?i)^approval /'],
          sort: '@timestamp desc',
          limit: 100,
        }),
      ),
      // Matches the API Gateway request id (error bodies' request_id, events, access log) as well
      // as the Lambda request id, so one id finds the whole trail.
      define(
        'by-request-id',
        new QueryString({
          fields: ['@timestamp', '@log', 'level', 'message', ORG, 'category', 'status'],
          filterStatements: [
            // `requestId` is the access log's field (lib/broker-api.ts); the functions log `request_id`.
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
