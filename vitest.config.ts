import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Whole-process tests start Python workers; on 2 cores two files at a time is the sweet spot.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
  },
});
