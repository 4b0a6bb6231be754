import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // tfjs and the CPU-heavy kernels compete for the 2 cores; files in parallel forks keep CI short.
    pool: 'forks',
  },
});
