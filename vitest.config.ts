import { spawnSync } from 'node:child_process';
import { defineConfig } from 'vitest/config';

// test/redis.test.ts needs a redis-server (.ci/run installs it); without one it is skipped,
// and the Redis entry point's sources then leave the coverage figures rather than sink them.
const redisServer = spawnSync(process.env.REDIS_SERVER ?? 'redis-server', ['--version']).status === 0;

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
      exclude: redisServer ? [] : ['src/redis/**'],
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
