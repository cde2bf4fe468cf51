/**
 * Production bundles of the Lambda functions, built exactly as the CDK stack builds them
 * (lib/broker-function.ts: NodejsFunction with ESM output, minified, source maps without
 * sources content, target node24, main fields module/main, the createRequire banner, and the
 * AWS SDK bundled like everything else). The options live here once; if the stack's change,
 * change them here (test/bench checks they agree).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { type BuildOptions, build, type Metafile } from 'esbuild';

/**
 * Same text as the stack's ESM_REQUIRE_BANNER (lib/broker-function.ts); a copy, because importing
 * the stack module loads aws-cdk-lib (seconds). test/bench checks the two agree.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

/** The esbuild options NodejsFunction derives from the stack's `bundling` props. */
export const CDK_BUNDLING: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: { js: ESM_REQUIRE_BANNER },
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  external: [],
  // The stack's BUNDLE_ALIASES (lib/broker-function.ts): the environment-only credential provider.
  alias: { '@aws-sdk/credential-provider-node': './lambda/handlers/lambda-credentials.ts' },
  logLevel: 'warning',
};

/** The functions the stack deploys, by name; an entry that does not exist yet is skipped. */
export const FUNCTION_ENTRIES = {
  token: 'lambda/handlers/token.ts',
  oauth: 'lambda/handlers/oauth.ts',
} as const;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/**
 * The builds measured: the stack's, and a what-if with `@aws-sdk/*` external (taken from the
 * Lambda runtime's copy), to show what bundling the SDK trades.
 */
export type BundleVariant = 'stack' | 'sdkExternal';

export interface Contributor {
  /** A package (`@smithy/core`) or a source folder (`lambda/core`). */
  readonly name: string;
  readonly bytes: number;
}

export interface FunctionBundle {
  readonly name: FunctionName;
  readonly variant: BundleVariant;
  /** Absolute path of `index.mjs`. */
  readonly file: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Largest first. */
  readonly contributors: readonly Contributor[];
}

/** Groups a metafile input path by package, or by its first two folders for our own code. */
function contributorOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (match?.[1]) return match[1];
  return input.split('/').slice(0, 2).join('/');
}

function contributors(metafile: Metafile): Contributor[] {
  const output = Object.values(metafile.outputs).find((candidate) => candidate.entryPoint);
  if (!output) throw new Error('esbuild metafile has no entry point output');
  const sizes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = contributorOf(input);
    sizes.set(name, (sizes.get(name) ?? 0) + bytesInOutput);
  }
  return [...sizes].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/**
 * Builds one function's bundle into `{outDir}/{name}/index.mjs` as the stack does, or the
 * what-if into `{outDir}/{name}-sdk-external/`. The what-if needs a `node_modules` holding the
 * SDK on its way up from `outDir` (the Lambda runtime's copy plays that part): benchmark.ts
 * `makeOutDir` links the project's.
 */
export async function buildFunctionBundle(
  name: FunctionName,
  projectRoot: string,
  outDir: string,
  variant: BundleVariant = 'stack',
): Promise<FunctionBundle> {
  const file = join(outDir, variant === 'stack' ? name : `${name}-sdk-external`, 'index.mjs');
  const result = await build({
    ...CDK_BUNDLING,
    ...(variant === 'sdkExternal' ? { external: ['@aws-sdk/*'] } : {}),
    absWorkingDir: projectRoot,
    entryPoints: [join(projectRoot, FUNCTION_ENTRIES[name])],
    outfile: file,
    metafile: true,
  });
  const code = await readFile(file);
  return {
    name,
    variant,
    file,
    bytes: code.byteLength,
    gzipBytes: (await promisify(gzip)(code, { level: 9 })).byteLength,
    contributors: contributors(result.metafile),
  };
}

/** Every function whose entry exists in `projectRoot`. */
export function presentFunctions(projectRoot: string): FunctionName[] {
  return (Object.keys(FUNCTION_ENTRIES) as FunctionName[]).filter((name) =>
    existsSync(join(projectRoot, FUNCTION_ENTRIES[name])),
  );
}
