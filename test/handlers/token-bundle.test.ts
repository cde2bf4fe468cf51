/**
 * Guards the token function's cold start: bundled as a Lambda ESM bundle with the AWS SDK left to
 * the runtime, the entry must stay within budget and must not load the SDK at import. esbuild
 * hoists any static import of an external package to the top of the bundle, even from a module
 * reached only through a dynamic import, so one stray static SDK import would undo the lazy wiring.
 */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('token function bundle', () => {
  it('is at most 250 KB minified and imports no AWS SDK module at load time', async () => {
    const result = await build({
      entryPoints: ['lambda/handlers/token.ts'],
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['@aws-sdk/*'],
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]?.text ?? '';
    expect(code.length).toBeGreaterThan(10_000);
    expect(code.length).toBeLessThanOrEqual(250 * 1024);
    expect(code.match(/(?:from|import)\s*"@aws-sdk\/[^"]+"/g) ?? []).toEqual([]);
    expect(code).toMatch(/import\("@aws-sdk\/client-secrets-manager"\)/);
  });
});
