// Mutation testing with StrykerJS: `npm run mutation`. A full run's figures belong in
// docs/reliability.md. Not part of `npm test` or CI: a full run takes an hour or more on
// two cores, most of it in the mutants that survive (each one runs every test covering it).
//
//   npm run mutation                          incremental: only mutants whose code or tests changed since the last run here
//   npm run mutation -- --force               every mutant again (what the recorded figures come from)
//   npm run mutation -- --mutate src/core/window.ts   one file
//   MUTATION_CONCURRENCY=1 npm run mutation   one test runner process (default: 2)

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  // The core, its policies, the public index, and the optional entries' files that are
  // plain logic tested in-process. Not mutated: type-only files, the Redis entry (its tests
  // need a redis-server), the dashboard's HTTP, streaming and page files (the page is
  // checked in Chromium), and the Prometheus and OpenTelemetry adapters.
  mutate: [
    'src/index.ts',
    'src/core/**/*.ts',
    'src/policies/**/*.ts',
    '!src/policies/types.ts',
    'src/observability/observe.ts',
    'src/observability/health.ts',
    'src/dashboard/controls.ts',
    'src/dashboard/track.ts',
  ],

  testRunner: 'vitest',
  vitest: {
    // Only the fast in-process suites, without coverage thresholds or a redis-server check.
    configFile: 'vitest.mutation.config.ts',
    // Every selected suite imports the sources through src/index.ts: no narrowing to do.
    related: false,
  },
  coverageAnalysis: 'perTest',

  // Results are kept in reports/stryker-incremental.json (not committed: it is rewritten by
  // every run and holds every mutant's covering tests). A rerun tests only the mutants whose
  // code or covering test files changed; a fresh checkout has no such file, so its first run
  // tests every mutant. Changes to test/helpers.ts or test/model/ are not seen as changes to
  // the tests: rerun with --force after them.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',

  reporters: ['progress', 'clear-text', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false },

  thresholds: { high: 90, low: 85, break: 95 },

  concurrency: process.env.MUTATION_CONCURRENCY ? Number(process.env.MUTATION_CONCURRENCY) : 2,
  // A mutant's tests may take 1.5 times their unmutated time plus 5 s before it counts as a
  // timeout (a call that never settles, an endless loop): room for a busy machine, without
  // paying half a minute for each of the mutants that hang a test.
  timeoutFactor: 1.5,
  timeoutMS: 5_000,

  // What the selected suites do not read; dist/ in particular, so that nothing can come to
  // depend on a build.
  ignorePatterns: ['dist', 'coverage', 'docs/api', 'bench', '*.tgz'],
  tempDirName: '.stryker-tmp',
};
