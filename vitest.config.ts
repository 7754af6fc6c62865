import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A rejection nobody handled is a bug here, never noise.
    dangerouslyIgnoreUnhandledErrors: false,
    testTimeout: 20_000,
    // `npm test` runs with --coverage; below these figures the run fails.
    coverage: {
      provider: 'v8',
      include: ['src/**'],
      reporter: ['text', 'json-summary', 'html'],
      // Show the figures even when a test fails (a failing test must not hide a coverage drop).
      reportOnFailure: true,
      thresholds: {
        lines: 95,
        branches: 90,
      },
    },
  },
});
