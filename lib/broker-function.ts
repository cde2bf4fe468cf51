import { fileURLToPath } from 'node:url';
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyDocument, type PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { writeLogsStatement } from './broker-policies';
import type { BrokerLogLevel } from './token-broker-props';

/** The repository root: entries, the lock file and esbuild's working directory. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * CommonJS dependencies bundled into an ESM file still call `require` for Node builtins; esbuild's
 * shim throws `Dynamic require of "util" is not supported` unless a real `require` exists.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

/**
 * Module substitutions in the bundles. In Lambda the credentials are always in the environment,
 * so the SDK's default chain (`@aws-sdk/credential-provider-node`: SSO, INI, process, IMDS,
 * container providers and the STS/SSO clients behind them, about 100 KB) is dead code there; the
 * Secrets Manager client, the one SDK client left, resolves its `defaultProvider` import to the
 * environment-only provider instead (lambda/handlers/lambda-credentials.ts). Paths are relative
 * to the project root, esbuild's working directory. bench/bundling.ts keeps a copy (test/bench).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambda/handlers/lambda-credentials.ts',
};

/** {@link BUNDLE_ALIASES} as NodejsFunction passes them on to esbuild's CLI (`--alias:from=to`). */
const ALIAS_ARGS = Object.fromEntries(
  Object.entries(BUNDLE_ALIASES).map(([from, to]) => [`--alias:${from}`, to]),
);

export interface BrokerFunctionProps {
  /** Entry file relative to the repository root; it must `export const handler`. */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Readonly<Record<string, string>>;
  /** Everything the function may do besides writing its own logs. */
  readonly statements: readonly PolicyStatement[];
  readonly logRetention: RetentionDays;
  readonly logLevel: BrokerLogLevel;
  readonly removalPolicy: RemovalPolicy;
  readonly sourceMapStackTraces: boolean;
  /** @default - none: the function shares the account's unreserved concurrency */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A broker Lambda function with the house defaults: Node.js 24 on arm64 (cheaper per ms, and
 * the code has no native modules), an ESM bundle built locally by esbuild (no Docker), minified
 * with external source maps, JSON logs into an explicit log group with retention, and its own
 * role holding exactly `statements` (no managed policy).
 *
 * The AWS SDK is bundled rather than taken from the runtime: callers pay less for it (see the
 * `bundling` comment below), and the deployed code runs the SDK versions the tests ran (the
 * runtime's copy changes under you).
 *
 * X-Ray tracing stays off: the code has no Tracer, and X-Ray's write actions have no
 * resource-level permissions, so enabling it would add the only `*` resource to the roles.
 */
export class BrokerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: BrokerFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `salesforce-token-broker ${id}: least-privilege execution role`,
      inlinePolicies: {
        Access: new PolicyDocument({
          statements: [writeLogsStatement(this.logGroup), ...props.statements],
        }),
      },
    });
    this.function = new NodejsFunction(this, 'Function', {
      entry: `${PROJECT_ROOT}${props.entry}`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel[props.logLevel],
      systemLogLevelV2: SystemLogLevel.INFO,
      environment: {
        ...props.environment,
        ...(props.sourceMapStackTraces ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The one SDK client left (Secrets Manager) is bundled. Taking it from the nodejs24.x
        // runtime makes the bundle smaller and the import shorter, but the first request then
        // loads the SDK from hundreds of files, and the cold total, which callers pay, is
        // longer (the what-if rows of `npm run bench`, docs/performance.md).
        externalModules: [],
        esbuildArgs: ALIAS_ARGS,
        forceDockerBundling: false,
      },
    });
  }
}
