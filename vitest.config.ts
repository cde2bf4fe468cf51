import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'emulator/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Suites start real servers (emulator, dynalite, local endpoints) on ephemeral loopback ports.
    pool: 'forks',
    env: {
      POWERTOOLS_DEV: 'false',
    },
  },
});
