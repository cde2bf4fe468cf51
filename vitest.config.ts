import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'emulator/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites start real servers (emulator, dynalite, local endpoints) on ephemeral loopback ports.
    pool: 'forks',
    globalSetup: ['test/support/checkout-guard.ts'],
    env: {
      POWERTOOLS_DEV: 'false',
      // The AWS SDK's notice that its 2027 releases need Node 22, once per process (and child
      // process: they inherit this) would bury the test output; see package.json engines.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
