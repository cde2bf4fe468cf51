/**
 * jsforce on broker tokens: a `Connection` whose access token comes from the broker and whose
 * session refresh (jsforce's `refreshFn`, which it calls on `401 INVALID_SESSION_ID`) is one
 * `invalidate` and one `getToken`. jsforce is an optional peer dependency: only this entry needs it.
 *
 * ```ts
 * import { createTokenBrokerClient } from 'salesforce-token-broker/client';
 * import { createBrokerConnection } from 'salesforce-token-broker/client/jsforce';
 * const broker = createTokenBrokerClient({ apiUrl: process.env.TOKEN_BROKER_URL! });
 * const conn = await createBrokerConnection({ client: broker, orgId: 'acme' });
 * const accounts = await conn.query('SELECT Id, Name FROM Account LIMIT 10');
 * ```
 *
 * @packageDocumentation
 */
import jsforce, { type Connection, type ConnectionConfig, type Schema } from 'jsforce';
import type { TokenBrokerClient } from './index';

export interface BrokerConnectionOptions {
  readonly client: TokenBrokerClient;
  readonly orgId: string;
  /**
   * Salesforce REST API version.
   * @default jsforce's default version
   */
  readonly version?: string;
  /**
   * Any other jsforce `Connection` option (logLevel, callOptions, maxRequest, proxyUrl...).
   * `accessToken`, `instanceUrl`, `refreshFn` and `oauth2` are the helper's.
   * @default {}
   */
  readonly connection?: Omit<
    ConnectionConfig,
    'accessToken' | 'instanceUrl' | 'refreshFn' | 'oauth2' | 'refreshToken' | 'version'
  >;
  /**
   * A token the broker handed out by a refresh and rejected again by Salesforce within this
   * window fails the request instead of refreshing once more: jsforce retries every 401 with a new
   * refresh, so a token the broker keeps re-issuing (another function instance's cache, for up to
   * 30 s after a DELETE) would otherwise loop, each turn a DELETE.
   * @default 10000
   */
  readonly minRefreshIntervalMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * A jsforce `Connection` on the org's broker token. The first token is fetched before it resolves,
 * so a broker error (e.g. `consumer_not_approved` with its remediation) surfaces here, typed.
 * @throws TokenBrokerError from the first `getToken`
 */
export async function createBrokerConnection<S extends Schema = Schema>(
  options: BrokerConnectionOptions,
): Promise<Connection<S>> {
  const { client, orgId } = options;
  const clock = options.clock ?? Date.now;
  const minRefreshIntervalMs = options.minRefreshIntervalMs ?? 10_000;
  const grant = await client.getToken(orgId);
  let lastRefresh: { at: number; token: string } | undefined;

  const refreshFn: ConnectionConfig<S>['refreshFn'] = (connection, callback) => {
    const rejected = connection.accessToken ?? '';
    if (
      lastRefresh &&
      lastRefresh.token === rejected &&
      clock() - lastRefresh.at < minRefreshIntervalMs
    ) {
      callback(
        new Error(
          `Salesforce rejected the token the broker issued for org ${orgId} ${clock() - lastRefresh.at} ms ago; not refreshing again (see DELETE /orgs/{orgId}/token in docs/openapi.yaml)`,
        ),
      );
      return;
    }
    client
      .invalidate(orgId)
      .then(() => client.getToken(orgId))
      .then(
        (fresh) => {
          lastRefresh = { at: clock(), token: fresh.access_token };
          // A re-login may land on another instance; later requests must go there.
          if (fresh.instance_url && fresh.instance_url !== connection.instanceUrl) {
            connection.instanceUrl = fresh.instance_url;
          }
          callback(null, fresh.access_token);
        },
        (error: unknown) => callback(error as Error),
      );
  };

  return new jsforce.Connection<S>({
    ...options.connection,
    instanceUrl: grant.instance_url,
    accessToken: grant.access_token,
    ...(options.version ? { version: options.version } : {}),
    refreshFn,
  });
}
