/**
 * `npm start` (interim, until the full local stack lands): one honest round trip through the real
 * token API code on loopback. It starts the Salesforce emulator with the demo org (whose
 * integration user has not approved the app), a local Secrets Manager holding a freshly generated
 * signing key, and DynamoDB (dynalite) holding the org record; builds the token handler exactly as
 * the Lambda entry does (AWS SDK clients pointed at the local endpoints); then requests a token,
 * shows the classified failure and its remediation, records the integration user's approval in
 * the emulator, and requests a token again. Nothing is faked: both answers come from the
 * emulator verifying the signed assertion. The browser approval loop and the local HTTP gateway
 * arrive with the full local stack.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyResult } from 'aws-lambda';
import dynalite from 'dynalite';
import { seedDemoOrg } from '../emulator/demo';
import { writeDemoKeys } from '../emulator/demo-keys';
import { startEmulator } from '../emulator/server';
import { createBrokerTable } from './create-table';
import { buildRestEvent, createLambdaContext } from './rest-event';
import { startSecretsManagerServer } from './secrets-manager-server';

const TABLE = 'token-broker';
const PUBLIC_BASE_URL = 'http://127.0.0.1:3000';
const CALLER = 'arn:aws:sts::123456789012:assumed-role/DemoFulfilment/demo-session';
const say = (line = '') => process.stdout.write(`${line}\n`);

const emulator = await startEmulator();
const secrets = await startSecretsManagerServer();
const dynamo = dynalite({ createTableMs: 0 });
await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', () => resolve()));
const dynamoEndpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;

// The handler's own AWS clients read these, as they read the real ones in Lambda.
Object.assign(process.env, {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
});

const dynamoClient = new DynamoDBClient({});
try {
  await createBrokerTable(dynamoClient, TABLE);
  const keys = await writeDemoKeys(join('.local', 'demo'));
  await secrets.putSecret(
    'token-broker/demo',
    JSON.stringify({ privateKey: keys.privateKeyPem, certificate: keys.certificatePem }),
  );
  const demo = await seedDemoOrg(emulator.control, {
    certificatePem: keys.certificatePem,
    callbackUrl: `${PUBLIC_BASE_URL}/oauth/callback`,
  });

  const [{ createDynamoOrgRegistry }, { validateOrgRecord }] = await Promise.all([
    import('../lambda/adapters/org-registry'),
    import('../lambda/core/org-record'),
  ]);
  await createDynamoOrgRegistry({
    client: DynamoDBDocumentClient.from(dynamoClient),
    tableName: TABLE,
  }).putOrg(
    validateOrgRecord({
      orgId: 'demo',
      loginUrl: demo.loginUrl,
      audience: demo.audience,
      consumerKey: demo.app.consumerKey,
      username: demo.integrationUsername,
      signingKeySecretId: 'token-broker/demo',
      callers: [CALLER],
    }),
  );

  const [{ createTokenHandler }, { createAwsTokenService }, { logger, metrics }] =
    await Promise.all([
      import('../lambda/handlers/token-handler'),
      import('../lambda/handlers/token-wiring'),
      import('../lambda/handlers/observability'),
    ]);
  const config = {
    tableName: TABLE,
    publicBaseUrl: PUBLIC_BASE_URL,
    salesforceTimeoutMs: 5000,
    signingKeyMaxAgeSeconds: 300,
  };
  const handler = createTokenHandler({
    logger,
    metrics,
    createService: (hooks) => createAwsTokenService(config, hooks),
  });
  const requestToken = async (body?: string) => {
    const response = (await handler(
      buildRestEvent({
        method: 'POST',
        path: '/orgs/demo/token',
        resource: '/orgs/{orgId}/token',
        pathParameters: { orgId: 'demo' },
        callerArn: CALLER,
        ...(body ? { body } : {}),
      }),
      createLambdaContext(),
    )) as APIGatewayProxyResult;
    return {
      status: response.statusCode,
      body: JSON.parse(response.body) as Record<string, unknown>,
    };
  };

  say('salesforce-token-broker: interim demo (the full local stack is not wired yet)');
  say(`  Salesforce emulator ${emulator.url}, demo org login URL ${demo.loginUrl}`);
  say(`  Secrets Manager (local) ${secrets.endpoint}, DynamoDB (dynalite) ${dynamoEndpoint}`);
  say(`  Integration user ${demo.integrationUsername}; signing key in .local/demo/`);
  say();
  say('1. POST /orgs/demo/token (the integration user has not approved the app yet)');
  const first = await requestToken();
  const remediation = first.body.remediation as
    | { summary: string; steps: string[]; approvalLink?: string; salesforceAuthorizeUrl?: string }
    | undefined;
  say(`   HTTP ${first.status} ${String(first.body.error)}`);
  say(`   Salesforce said: ${JSON.stringify(first.body.salesforce)}`);
  if (remediation) {
    say(`   ${remediation.summary}`);
    for (const [index, step] of remediation.steps.entries()) say(`   ${index + 1}) ${step}`);
    if (remediation.approvalLink) say(`   Broker approval link: ${remediation.approvalLink}`);
    if (remediation.salesforceAuthorizeUrl) {
      say(`   Raw Salesforce authorize URL: ${remediation.salesforceAuthorizeUrl}`);
    }
  }
  say();
  say('2. The integration user approves the app (recorded through the emulator control API,');
  say('   with the refresh_token scope; the browser approval loop comes with the full stack)');
  await emulator.control.approve(demo.integrationUsername, demo.app.consumerKey, [
    'api',
    'refresh_token',
  ]);
  say();
  say('3. POST /orgs/demo/token {"forceRefresh": true}');
  const second = await requestToken('{"forceRefresh": true}');
  if (second.status === 200) {
    const token = String(second.body.access_token);
    say(`   HTTP 200: access_token <${token.length} characters, not shown>`);
    say(
      `   instance_url ${String(second.body.instance_url)}, expires_at ${String(second.body.expires_at)}`,
    );
  } else {
    say(`   HTTP ${second.status} ${String(second.body.error)}: ${String(second.body.message)}`);
    process.exitCode = 1;
  }
  say(
    `   Salesforce logins by the integration user: ${await emulator.control.countTokenExchanges(demo.integrationUsername)}`,
  );
} finally {
  dynamoClient.destroy();
  await Promise.all([
    emulator.close(),
    secrets.close(),
    new Promise<void>((resolve) => dynamo.close(() => resolve())),
  ]);
}
