import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

/**
 * The optional entries (src/observability/, src/redis/, src/dashboard/) reach the core through
 * its public surface, `import ... from '../index.js'`. Bundled, each would carry its own copy of the
 * core, and with it its own default registry, different from the one the app's
 * `import 'executor-circuit-breaker'` uses. So that import stays an import of the built core
 * file, which sits beside every entry in the flat dist/: `./index.js` in the ESM build,
 * `./index.cjs` in the CommonJS one.
 */
const coreStaysExternal: Plugin = {
  name: 'core-stays-external',
  setup(build) {
    const core = build.initialOptions.format === 'cjs' ? './index.cjs' : './index.js';
    build.onResolve({ filter: /^\.\.\/index\.js$/ }, (args) =>
      /[\\/]src[\\/][^\\/]+[\\/][^\\/]+\.ts$/.test(args.importer) ? { path: core, external: true } : undefined,
    );
  },
};

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    prometheus: 'src/observability/prometheus.ts',
    opentelemetry: 'src/observability/opentelemetry.ts',
    health: 'src/observability/health.ts',
    redis: 'src/redis/share.ts',
    dashboard: 'src/dashboard/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'node18',
  platform: 'node',
  sourcemap: true,
  splitting: false,
  // prom-client, @opentelemetry/api and ioredis are peer dependencies, so tsup leaves them external.
  esbuildPlugins: [coreStaysExternal],
});
