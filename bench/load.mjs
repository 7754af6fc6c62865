// Loads the three libraries the way their users do.
//
// executor-circuit-breaker is imported through the package's self-reference, which
// resolves to dist/ through package.json "exports". dist/ may be rebuilt (and briefly
// missing or half-written) while the benchmark starts, so the import is retried; a retry
// imports the resolved file with a query string, because Node caches a module that failed
// to evaluate under its URL.

import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `import * as circuitBreaker from 'executor-circuit-breaker'`, retried while dist/ is being rebuilt. */
export async function loadOurs({ attempts = 60, waitMs = 500 } = {}) {
  // import.meta.resolve is synchronous from Node 20.6; before that, the "import" entry of
  // package.json "exports" is dist/index.js.
  const url =
    typeof import.meta.resolve === 'function'
      ? import.meta.resolve('executor-circuit-breaker')
      : new URL('../dist/index.js', import.meta.url).href;
  const file = fileURLToPath(url);
  let lastError;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      if (!existsSync(file)) throw new Error(`${file} does not exist (yet)`);
      // A file still being written grows between two looks.
      const size = statSync(file).size;
      if (attempt > 0) {
        await sleep(100);
        if (statSync(file).size !== size) throw new Error(`${file} is being written`);
      }
      const mod =
        attempt === 0 ? await import('executor-circuit-breaker') : await import(`${url}?retry=${attempt}`);
      if (typeof mod.execute !== 'function') throw new Error('dist/index.js has no execute export');
      return mod;
    } catch (error) {
      lastError = error;
      await sleep(waitMs);
    }
  }
  throw new Error(`could not load executor-circuit-breaker from dist/: ${lastError?.message ?? lastError}`);
}

/**
 * Another build of executor-circuit-breaker, for an A/B in the same run: BENCH_BEFORE names
 * its dist/index.js (e.g. a build of the previous commit). null when unset.
 */
export async function loadBefore() {
  const file = process.env.BENCH_BEFORE;
  if (!file) return null;
  const mod = await import(new URL(`file://${file.startsWith('/') ? '' : process.cwd() + '/'}${file}`).href);
  if (typeof mod.execute !== 'function') throw new Error(`BENCH_BEFORE=${file} has no execute export`);
  return mod;
}

/** opossum is CommonJS: `const CircuitBreaker = require('opossum')`. */
export function loadOpossum() {
  return require('opossum');
}

/** `import { circuitBreaker, ... } from 'cockatiel'`. */
export async function loadCockatiel() {
  return import('cockatiel');
}
