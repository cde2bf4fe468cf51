import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER, PROJECT_ROOT } from '../../lib/broker-function';

const run = promisify(execFile);

/** The environment of a fresh clone on a machine with no AWS configuration at all. */
function offlineEnv(home: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(AWS_|CDK_)/.test(key)),
  );
  return {
    ...env,
    HOME: home,
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

let scratch: string;
let outdir: string;
let template: { Outputs: Record<string, unknown>; Resources: Record<string, unknown> };
let printed: string;

// The real `cdk synth` CLI, as `npm run synth` runs it: esbuild bundling of both functions,
// CloudFormation's schema validation (left on: CDK_VALIDATION is not set) and cdk-nag.
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'broker-synth-'));
  outdir = join(scratch, 'cdk.out');
  const { stdout, stderr } = await run(
    join(PROJECT_ROOT, 'node_modules/.bin/cdk'),
    ['synth', '--quiet', '-o', outdir],
    { cwd: PROJECT_ROOT, env: offlineEnv(scratch) },
  );
  printed = stdout + stderr;
  const text = await readFile(join(outdir, 'SalesforceTokenBroker.template.json'), 'utf8');
  template = JSON.parse(text);
}, 180_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Stand-ins for the values only a deployment resolves (CloudFormation references). */
const DEPLOYED_VALUES: Record<string, string> = {
  TABLE_NAME: 'SalesforceTokenBroker-BrokerTable-1ABC',
  EVENTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:SalesforceTokenBroker-EventsTopic-1ABC',
  PUBLIC_BASE_URL: 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/prod',
  TOKEN_CACHE_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d',
  APPROVAL_LINK_KEY_ID:
    'arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-1111-2222-3333-444455556666',
  TOKEN_FUNCTION_NAME: 'SalesforceTokenBroker-BrokerTokenFunction-1ABC',
};

interface LambdaResource {
  Type: string;
  Properties: { Code: { S3Key: string }; Environment: { Variables: Record<string, unknown> } };
}

describe('cdk synth (CLI, offline, no credentials, CloudFormation validation on)', () => {
  it('writes the stack with its outputs', () => {
    expect(Object.keys(template.Outputs)).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'RedirectUri',
        'EventsTopicArn',
        'AlarmTopicArn',
        'TableName',
      ]),
    );
  });

  it("prints the outputs' shape", () => {
    expect(printed).toContain(
      'RedirectUri = https://{restApiId}.execute-api.{region}.amazonaws.com/prod/oauth/callback',
    );
    expect(printed).not.toMatch(/AwsSolutions-/);
  });

  it('bundles both functions as minified ESM with the createRequire banner and a source map', async () => {
    const assets = (await readdir(outdir)).filter((name) => name.startsWith('asset.'));
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      const files = await readdir(join(outdir, asset));
      expect(files.sort()).toEqual(['index.mjs', 'index.mjs.map']);
      const code = await readFile(join(outdir, asset, 'index.mjs'), 'utf8');
      expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/);
      // The AWS SDK is bundled (lib/broker-function.ts): nothing is left to load from the runtime.
      expect(code).not.toMatch(/(?:from\s*|import\s*\(\s*)["']@aws-sdk\//);
      // The default credential chain is aliased to the environment-only provider
      // (lib/broker-function.ts BUNDLE_ALIASES): none of the chain's other providers is bundled.
      expect(code).not.toMatch(/credential-provider-(?:ini|sso|process|imds|login|http)\b/);
    }
  });

  // A cold start as Lambda would run it: the bundle loads (the createRequire banner works) and
  // the function's configuration, read at import, accepts the environment the stack gives it.
  it('loads each bundle with the environment the stack sets', async () => {
    const functions = Object.values(template.Resources as Record<string, LambdaResource>).filter(
      (resource) => resource.Type === 'AWS::Lambda::Function',
    );
    expect(functions).toHaveLength(2);
    // No node_modules next to the bundle: it must load from its own file, SDK included.
    for (const fn of functions) {
      const variables = fn.Properties.Environment.Variables;
      const env = Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [
          key,
          typeof value === 'string' ? value : DEPLOYED_VALUES[key],
        ]),
      );
      const bundle = join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
      const { stdout } = await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          'const m = await import(process.argv[1]); console.log(typeof m.handler);',
          join(bundle, 'index.mjs'),
        ],
        { env: { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', ...env } },
      );
      expect(stdout.trim()).toBe('function');
    }
  });
});

describe('cdk synth with a bad context value', () => {
  it('stops with one line naming the context key and the fix, no stack trace', async () => {
    const failure = await run(
      join(PROJECT_ROOT, 'node_modules/.bin/cdk'),
      ['synth', '--quiet', '-c', 'salesforceTimeoutMs=99999', '-o', join(scratch, 'bad.out')],
      { cwd: PROJECT_ROOT, env: offlineEnv(scratch) },
    ).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failure?.code).not.toBe(0);
    const lines = `${failure?.stdout}${failure?.stderr}`.split('\n').filter((line) => line.trim());
    const ours = lines.filter((line) => line.includes('salesforceTimeout'));
    expect(ours).toEqual([
      'context "salesforceTimeoutMs" is 99999; give a number of milliseconds from 1000 to 6000; fix cdk.json or the -c salesforceTimeoutMs=... argument',
    ]);
    expect(lines.filter((line) => /^\s+at |Error:|\^/.test(line))).toEqual([]);
    // The only other line is the CDK CLI's own note that the app exited non-zero.
    expect(lines.length).toBeLessThanOrEqual(2);
  }, 120_000);
});
