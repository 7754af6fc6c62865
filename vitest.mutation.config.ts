import { defineConfig } from 'vitest/config';

/**
 * The test files that mutation testing (stryker.config.mjs, `npm run mutation`) runs
 * against each mutant: the suites that import the sources (../src) and run in one process,
 * on fake timers or a few short real waits. Left out, each for a reason:
 * - test/examples, package, packaging, types, soak, timers-process: they need dist/
 *   (`npm run build`), child processes or a packed tarball;
 * - test/redis*, dashboard.browser: they need a redis-server or Chromium;
 * - test/sdk-clients: real HTTP clients against a local service with waits of seconds;
 * - test/layout: it reads the sources' import lines, not their behaviour.
 */
export const MUTATION_TEST_FILES = [
  'test/bad-input.test.ts',
  'test/breaker-edge-cases.test.ts',
  'test/breaker.test.ts',
  'test/bulkhead.test.ts',
  'test/config.test.ts',
  'test/coordination.test.ts',
  'test/dashboard-controls.test.ts',
  'test/dashboard-track.test.ts',
  'test/dashboard.test.ts',
  'test/deadlines.test.ts',
  'test/doc-examples.test.ts',
  'test/docs.test.ts',
  'test/events.test.ts',
  'test/execute.test.ts',
  'test/fake-timers.test.ts',
  'test/format.test.ts',
  'test/health.test.ts',
  'test/observe-edges.test.ts',
  'test/opentelemetry.test.ts',
  'test/policies-together.test.ts',
  'test/policies.test.ts',
  'test/policy-edges.test.ts',
  'test/policy-options-edges.test.ts',
  'test/prometheus.test.ts',
  'test/property-composition.test.ts',
  'test/property.test.ts',
  'test/registry-edges.test.ts',
  'test/retry.test.ts',
  'test/states.test.ts',
  'test/stats.test.ts',
  'test/timers.test.ts',
  'test/window.test.ts',
  'test/wrap.test.ts',
  'test/wrappers-edges.test.ts',
];

export default defineConfig({
  test: {
    include: MUTATION_TEST_FILES,
    // A rejection nobody handled is a bug here, never noise (as in vitest.config.ts).
    dangerouslyIgnoreUnhandledErrors: false,
    testTimeout: 20_000,
    env: {
      // The property tests draw their sequences from one fixed seed, so that every run
      // tests each mutant against the same sequences; with a seed set they also stop at the
      // first counterexample instead of shrinking it. FC_SEED=<n> picks another seed.
      FC_SEED: process.env.FC_SEED ?? '20240501',
    },
  },
});
