/**
 * The roles' policies, as synthesized, evaluated against the requests the adapters really send
 * (recorded off the wire of the functions' DynamoDB client over dynalite while the flows run) and against
 * the requests each role must never be able to make.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoIncidentStore } from '../../lambda/adapters/incident-store';
import { createOAuthStateStore } from '../../lambda/adapters/oauth-state-store';
import { createDynamoOrgRegistry } from '../../lambda/adapters/org-registry';
import { createAttempt } from '../../lambda/core/oauth-state';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { createLocalDocuments } from '../../local/aws-clients';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import {
  type IamRequest,
  isAllowed,
  resolveIntrinsics,
  type Statement,
} from '../support/iam-evaluator';
import { roleStatements, synthBroker } from './synth';

type Json = Record<string, unknown>;
type AttributeValue = { S?: string } | string;
/** A key value as the document client or the base client holds it. */
const textOf = (value: AttributeValue | undefined) =>
  typeof value === 'string' ? value : value?.S;

let dynamo: LocalDynamo;
let tableName: string;
let tokenPolicy: Statement[];
let oauthPolicy: Statement[];
let tableArn: string;

beforeAll(async () => {
  const { template } = synthBroker();
  const functions = template.findResources('AWS::Lambda::Function');
  const roleOfMemory = (memory: number) => {
    const fn = Object.values(functions).find((f) => f.Properties.MemorySize === memory);
    const role = fn?.Properties.Role as Json | undefined;
    return (role?.['Fn::GetAtt'] as string[] | undefined)?.[0] ?? '';
  };
  const statements = roleStatements(template);
  tokenPolicy = resolveIntrinsics(statements[roleOfMemory(512)]) as Statement[];
  oauthPolicy = resolveIntrinsics(statements[roleOfMemory(256)]) as Statement[];
  const [tableId] = Object.keys(template.findResources('AWS::DynamoDB::Table'));
  tableArn = `arn:aws:test:eu-west-1:123456789012:${tableId}`;
  dynamo = await startDynalite();
  tableName = await dynamo.createTable();
});
afterAll(() => dynamo.close());

/**
 * The functions' document client over dynalite, its transport turning every request on the wire
 * (`X-Amz-Target` and the marshalled body) into the IAM request DynamoDB would authorize: the
 * action, the table, `dynamodb:LeadingKeys` and `dynamodb:Attributes`.
 */
function recordingClient() {
  const requests: IamRequest[] = [];
  const documents = createLocalDocuments(dynamo.endpoint, {
    fetch: (input, init) => {
      const target = new Headers(init?.headers).get('x-amz-target') ?? '';
      const operation = target.slice(target.indexOf('.') + 1);
      requests.push(toIamRequest(operation, JSON.parse(String(init?.body)) as Json));
      return fetch(input, init);
    },
  });
  return { documents, requests };
}

function toIamRequest(commandName: string, input: Json): IamRequest {
  const action = `dynamodb:${commandName.replace(/Command$/, '')}`;
  const names = Object.values((input.ExpressionAttributeNames ?? {}) as Record<string, string>);
  const key = (input.Key ?? input.Item) as Record<string, AttributeValue> | undefined;
  let leadingKey = textOf(key?.pk);
  if (!leadingKey && typeof input.KeyConditionExpression === 'string') {
    // The partition key condition: the table's `pk`, or the index's own partition key.
    const [, placeholder] = /#\w+ = (:\w+)/.exec(input.KeyConditionExpression) ?? [];
    const values = input.ExpressionAttributeValues as Record<string, AttributeValue>;
    leadingKey = placeholder ? textOf(values[placeholder]) : undefined;
  }
  const attributes = new Set([...names, ...Object.keys(key ?? {})]);
  const writes = action !== 'dynamodb:GetItem' && action !== 'dynamodb:Query';
  // Every item request names its partition: a request recorded without one would pass the
  // ForAllValues condition vacuously and prove nothing.
  if (!leadingKey) throw new Error(`No partition key recorded for ${action}`);
  return {
    action,
    resource: input.IndexName ? `${tableArn}/index/${String(input.IndexName)}` : tableArn,
    context: {
      ...(leadingKey ? { 'dynamodb:LeadingKeys': [leadingKey] } : {}),
      ...(writes ? { 'dynamodb:Attributes': [...attributes] } : {}),
    },
  };
}

const ORG = validateOrgRecord({
  orgId: 'acme',
  loginUrl: 'https://login.salesforce.com',
  consumerKey: 'key',
  username: 'integration@acme.example',
  signingKeySecretId: 'salesforce-token-broker/acme',
  callers: ['arn:aws:iam::123456789012:role/caller'],
});

async function registerOrg(): Promise<void> {
  await createDynamoOrgRegistry({
    client: dynamo.documents,
    tableName,
  }).putOrg(ORG);
}

describe('table grants per action, evaluated against recorded requests', () => {
  it('allows every request the token function makes: org reads, its own org state, key promotion, the incident ledger', async () => {
    await registerOrg();
    // `keys rotate` (the operator's CLI) stages the next key.
    await createDynamoOrgRegistry({
      client: dynamo.documents,
      tableName,
    }).stageKey('acme', 'salesforce-token-broker/acme-next', new Date().toISOString());
    const { documents, requests } = recordingClient();
    const registry = createDynamoOrgRegistry({ client: documents, tableName });
    await registry.getOrgTokenState('acme');
    await registry.getOrg('acme');
    await registry.recordExchangeOutcome('acme', {
      at: new Date().toISOString(),
      ok: true,
      requestId: 'r1',
      latencyMs: 10,
    });
    await registry.getExchangeOutcome('acme');
    await registry.recordTokenInvalidation('acme', Date.now());
    await registry.getKeyRotation('acme');
    expect(
      await registry.claimCertificateAlert('acme', {
        fingerprintSha256: 'a'.repeat(64),
        threshold: 7,
      }),
    ).toBe(true);
    expect(
      await registry.promoteStagedKey('acme', {
        staged: 'salesforce-token-broker/acme-next',
        previous: 'salesforce-token-broker/acme',
        at: new Date().toISOString(),
      }),
    ).toBe(true);
    const incidents = new DynamoIncidentStore({ documents, tableName });
    const opened = await incidents.recordFailure({
      orgId: 'acme',
      category: 'invalid_assertion',
      at: Date.now(),
    });
    await incidents.claimReminder(opened, Date.now() + 1);
    await incidents.listOpen('acme');
    await incidents.close('acme', 'invalid_assertion');
    // The daily certificate check lists the registry.
    expect((await registry.listOrgs()).map((org) => org.orgId)).toEqual(['acme']);

    expect(requests.map((r) => r.action)).toEqual([
      'dynamodb:GetItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem',
      'dynamodb:Query',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    ]);
    expect(requests.at(-1)).toMatchObject({
      resource: `${tableArn}/index/gsi1`,
      context: { 'dynamodb:LeadingKeys': ['ORG'] },
    });
    for (const request of requests) {
      expect(isAllowed(tokenPolicy, request), JSON.stringify(request)).toBe(true);
    }
  });

  it('allows every request the OAuth function makes: org reads and approval attempts', async () => {
    await registerOrg();
    const { documents, requests } = recordingClient();
    await createDynamoOrgRegistry({ client: documents, tableName }).getOrg('acme');
    const states = createOAuthStateStore({ client: documents, tableName });
    const attempt = createAttempt({
      orgId: 'acme',
      loginUrl: ORG.loginUrl,
      existingCookieValue: undefined,
      now: Date.now(),
      ttlSeconds: 600,
    });
    await states.save(attempt.record);
    await states.consume(attempt.record.stateHash);

    expect(requests.map((r) => r.action)).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
    ]);
    for (const request of requests) {
      expect(isAllowed(oauthPolicy, request), JSON.stringify(request)).toBe(true);
    }
  });

  it("denies both roles the registry's own writes (orgs put, orgs delete), recorded from the CLI's adapter", async () => {
    const { documents, requests } = recordingClient();
    const registry = createDynamoOrgRegistry({ client: documents, tableName });
    await registry.putOrg({ ...ORG, callers: ['arn:aws:iam::123456789012:role/intruder'] });
    await registry.deleteOrg('acme');
    expect(requests.map((r) => r.action)).toEqual(['dynamodb:UpdateItem', 'dynamodb:DeleteItem']);
    for (const request of requests) {
      expect(isAllowed(tokenPolicy, request), `token ${JSON.stringify(request)}`).toBe(false);
      expect(isAllowed(oauthPolicy, request), `oauth ${JSON.stringify(request)}`).toBe(false);
    }
  });

  it.each<[string, 'token' | 'oauth', IamRequest]>([
    ['token: rewrite callers', 'token', update('ORG#acme', ['pk', 'sk', 'callers'])],
    [
      'token: move the login URL with its own state',
      'token',
      update('ORG#acme', ['lastExchange', 'loginUrl']),
    ],
    ['token: replace an org record', 'token', item('PutItem', 'ORG#acme')],
    ['token: delete an org record', 'token', item('DeleteItem', 'ORG#acme')],
    ['token: touch an approval attempt', 'token', item('DeleteItem', 'STATE#abc')],
    ['token: read an approval attempt', 'token', item('GetItem', 'STATE#abc')],
    ['token: scan the table', 'token', { action: 'dynamodb:Scan', resource: 'TABLE' }],
    [
      'token: scan the org index',
      'token',
      { action: 'dynamodb:Scan', resource: 'TABLE/index/gsi1' },
    ],
    [
      'token: query the org index for another partition',
      'token',
      {
        action: 'dynamodb:Query',
        resource: 'TABLE/index/gsi1',
        context: { 'dynamodb:LeadingKeys': ['TOKEN#acme'] },
      },
    ],
    [
      "token: query the table's ORG partition",
      'token',
      { action: 'dynamodb:Query', resource: 'TABLE', context: { 'dynamodb:LeadingKeys': ['ORG'] } },
    ],
    ['oauth: write its own state on an org', 'oauth', update('ORG#acme', ['lastExchange'])],
    ['oauth: write incident attributes on an org', 'oauth', update('ORG#acme', ['count'])],
    ['oauth: delete an org record', 'oauth', item('DeleteItem', 'ORG#acme')],
    ['oauth: touch the incident ledger', 'oauth', item('DeleteItem', 'INCIDENT#acme')],
    [
      'oauth: list the org index',
      'oauth',
      { action: 'dynamodb:Query', resource: 'TABLE/index/gsi1' },
    ],
  ])('denies %s', (_name, role, request) => {
    const resolved = { ...request, resource: request.resource.replace('TABLE', tableArn) };
    expect(isAllowed(role === 'token' ? tokenPolicy : oauthPolicy, resolved)).toBe(false);
  });
});

describe('secrets and signing, evaluated', () => {
  const secret = (name: string) =>
    `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
  const read = (name: string): IamRequest => ({
    action: 'secretsmanager:GetSecretValue',
    resource: secret(name),
  });
  const sign = (aliases: string[], algorithm = 'RSASSA_PKCS1_V1_5_SHA_256'): IamRequest => ({
    action: 'kms:Sign',
    resource: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    context: { 'kms:ResourceAliases': aliases, 'kms:SigningAlgorithm': algorithm },
  });

  it("lets only the token function read signing keys; consumer secrets are the OAuth function's and the client credentials grant's", () => {
    expect(isAllowed(tokenPolicy, read('salesforce-token-broker/acme'))).toBe(true);
    expect(isAllowed(oauthPolicy, read('salesforce-token-broker/acme'))).toBe(false);
    expect(isAllowed(oauthPolicy, read('salesforce-token-broker-consumer/acme'))).toBe(true);
    // The client credentials grant sends the org's consumer secret from the token function.
    expect(isAllowed(tokenPolicy, read('salesforce-token-broker-consumer/acme'))).toBe(true);
    expect(isAllowed(tokenPolicy, read('other-team/key'))).toBe(false);
  });

  it('lets the token function sign RS256 with broker-aliased KMS keys only, and the OAuth function not at all', () => {
    expect(isAllowed(tokenPolicy, sign(['alias/salesforce-token-broker/acme']))).toBe(true);
    expect(isAllowed(tokenPolicy, sign(['alias/other/key']))).toBe(false);
    expect(isAllowed(tokenPolicy, sign([]))).toBe(false);
    expect(
      isAllowed(tokenPolicy, sign(['alias/salesforce-token-broker/acme'], 'RSASSA_PSS_SHA_256')),
    ).toBe(false);
    expect(isAllowed(oauthPolicy, sign(['alias/salesforce-token-broker/acme']))).toBe(false);
  });

  it('lets the OAuth function invoke the token function, and nothing else', () => {
    const invoke = (fn: string): IamRequest => ({
      action: 'lambda:InvokeFunction',
      resource: `arn:aws:test:eu-west-1:123456789012:${fn}`,
    });
    const granted = oauthPolicy.find((s) => s.Sid === 'InvokeTokenFunction');
    const tokenFunction = String(granted?.Resource ?? '')
      .split(':')
      .pop() as string;
    expect(isAllowed(oauthPolicy, invoke(tokenFunction))).toBe(true);
    expect(isAllowed(oauthPolicy, invoke('SomeOtherFunction'))).toBe(false);
    expect(isAllowed(tokenPolicy, invoke(tokenFunction))).toBe(false);
  });
});

function update(pk: string, attributes: string[]): IamRequest {
  return {
    action: 'dynamodb:UpdateItem',
    resource: 'TABLE',
    context: { 'dynamodb:LeadingKeys': [pk], 'dynamodb:Attributes': attributes },
  };
}

function item(action: string, pk: string): IamRequest {
  return {
    action: `dynamodb:${action}`,
    resource: 'TABLE',
    context: { 'dynamodb:LeadingKeys': [pk], 'dynamodb:Attributes': ['pk', 'sk'] },
  };
}
