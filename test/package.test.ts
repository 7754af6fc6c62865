/**
 * The built package as users get it: `require('executor-circuit-breaker')` and
 * `import * as circuitBreaker from 'executor-circuit-breaker'` in a real Node process,
 * resolved through package.json `exports` (a scratch app whose node_modules links to this
 * repository). Each script runs a small scenario and prints JSON that the tests check.
 * Also checks package.json itself. Needs dist/ (npm run build).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * The scenario both scripts run, given the module. Plain JavaScript, as a user would write.
 * It opens circuits and leaves them open without calling destroy(), on purpose: the
 * process must still exit at once.
 */
const SCENARIO = String.raw`
async function scenario(circuitBreaker) {
  const out = {};

  // Best Practice 7's settings: a circuit that opens after 3 failures.
  circuitBreaker.configure('test-service', {
    failureThreshold: 3,
    failureWindow: 10 * 1000,
    resetTimeout: 5 * 1000,
    successThreshold: 2
  });
  const ok = await circuitBreaker.execute('test-service', async () => ({ id: 'page-1' }));
  out.ok = { success: ok.success, data: ok.data, rejected: ok.rejected, circuitState: ok.circuitState };
  out.failures = [];
  for (let i = 0; i < 3; i++) {
    const r = await circuitBreaker.execute('test-service', async () => {
      throw new Error('Test failure');
    });
    out.failures.push({ success: r.success, rejected: r.rejected, message: r.error.message });
  }
  out.state = circuitBreaker.getState('test-service');
  out.isOpen = circuitBreaker.isOpen('test-service');
  let ran = false;
  const cached = await circuitBreaker.execute('test-service', async () => { ran = true; });
  out.cached = { success: cached.success, fromCache: cached.fromCache, rejected: cached.rejected, data: cached.data, ran };

  // Without a cache, a rejection carries a CircuitOpenError.
  circuitBreaker.configure('writes', { failureThreshold: 1, cacheFallback: false });
  const thrown = await circuitBreaker.execute('writes', () => { throw 'plain string'; });
  out.wrapped = { isError: thrown.error instanceof Error, cause: thrown.error.cause };
  const rejected = await circuitBreaker.execute('writes', async () => 'not run');
  const error = rejected.error;
  out.rejected = {
    success: rejected.success,
    rejected: rejected.rejected,
    instanceOfCircuitOpenError: error instanceof circuitBreaker.CircuitOpenError,
    instanceOfError: error instanceof Error,
    name: error.name,
    executorName: error.executorName,
    nextAttemptTime: error.nextAttemptTime instanceof Date ? 'Date' : error.nextAttemptTime,
  };

  // A call that hangs times out.
  circuitBreaker.configure('slow', { requestTimeout: 50 });
  const slow = await circuitBreaker.execute('slow', (signal) => new Promise(() => {}));
  out.timeout = {
    success: slow.success,
    name: slow.error.name,
    instanceOfTimeoutError: slow.error instanceof circuitBreaker.TimeoutError,
    atLeast50ms: slow.executionTime >= 50,
  };

  const stats = circuitBreaker.getStats('test-service');
  out.stats = {
    state: stats.state,
    totalRequests: stats.totalRequests,
    successfulRequests: stats.successfulRequests,
    failedRequests: stats.failedRequests,
    rejectedRequests: stats.rejectedRequests,
    timesOpened: stats.timesOpened,
    nextAttemptIsDate: stats.nextAttemptTime instanceof Date,
  };
  out.formatted = circuitBreaker.formatStats(stats).split('\n').slice(0, 8);
  out.summaryRow = circuitBreaker.getSummary().split('\n').find((line) => line.startsWith('test-service'));
  out.CircuitState = { ...circuitBreaker.CircuitState };
  // Infinity does not survive JSON: written as a string.
  out.DEFAULT_CONFIG = Object.fromEntries(
    Object.entries(circuitBreaker.DEFAULT_CONFIG).map(([k, v]) => [k, v === Infinity ? 'Infinity' : v]),
  );

  // An isolated registry with its own defaults and clock.
  let now = Date.parse('2024-05-01T12:00:00.000Z');
  const registry = circuitBreaker.createRegistry({ defaults: { failureThreshold: 2 }, clock: { now: () => now } });
  for (let i = 0; i < 2; i++) await registry.execute('notion', async () => { throw new Error('down'); });
  out.registry = {
    state: registry.getState('notion'),
    nextAttemptTime: registry.getStats('notion').nextAttemptTime.toISOString(),
    seenByDefaultRegistry: circuitBreaker.getState('notion'),
    executors: registry.getExecutors(),
  };
  now += 30 * 1000;
  out.registry.afterResetTimeout = registry.getState('notion');

  out.exports = Object.keys(circuitBreaker).filter((k) => k !== 'default').sort();
  return out;
}
`;

const ESM_SCRIPT = `import * as circuitBreaker from 'executor-circuit-breaker';
import { createRequire } from 'node:module';
${SCENARIO}
const out = await scenario(circuitBreaker);
out.resolved = import.meta.resolve('executor-circuit-breaker');
// Node's dual package behaviour: require() gives another instance with its own registry.
const cjs = createRequire(import.meta.url)('executor-circuit-breaker');
out.dual = { cjsState: cjs.getState('test-service'), sameCircuitOpenError: cjs.CircuitOpenError === circuitBreaker.CircuitOpenError };
console.log(JSON.stringify(out));
`;

const CJS_SCRIPT = `const circuitBreaker = require('executor-circuit-breaker');
${SCENARIO}
scenario(circuitBreaker).then((out) => {
  out.resolved = require.resolve('executor-circuit-breaker');
  out.packageJsonName = require('executor-circuit-breaker/package.json').name;
  try {
    require('executor-circuit-breaker/dist/index.cjs');
    out.deepImport = 'allowed';
  } catch (error) {
    out.deepImport = error.code;
  }
  console.log(JSON.stringify(out));
});
`;

let app: string;

function run(script: string): { out: any; ms: number } {
  const started = Date.now();
  const stdout = execFileSync(process.execPath, [script], { cwd: app, encoding: 'utf8', timeout: 15_000 });
  const ms = Date.now() - started;
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return { out: JSON.parse(line), ms };
  } catch {
    throw new Error(`${script} printed no JSON:\n${stdout}`);
  }
}

beforeAll(async () => {
  const dist = ['index.js', 'index.cjs'].map((f) => join(root, 'dist', f));
  for (let waited = 0; waited < 15_000 && !dist.every((f) => existsSync(f)); waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (!dist.every((f) => existsSync(f))) throw new Error('dist/ is not built: run `npm run build` first');

  app = mkdtempSync(join(tmpdir(), 'circuit-breaker-app-'));
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(root, join(app, 'node_modules', 'executor-circuit-breaker'), 'junction');
  writeFileSync(join(app, 'esm.mjs'), ESM_SCRIPT);
  writeFileSync(join(app, 'cjs.cjs'), CJS_SCRIPT);
}, 20_000);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

const DOCUMENTED_API = [
  'CircuitState', 'closeCircuit', 'configure', 'destroy', 'execute', 'formatStats', 'getAllStats',
  'getConfig', 'getExecutors', 'getState', 'getStats', 'getSummary', 'isClosed', 'isHalfOpen', 'isOpen', 'off',
  'on', 'openCircuit', 'reset', 'resetAll',
  // CONTRACT.md and the result's errors:
  'createRegistry', 'CircuitOpenError', 'TimeoutError', 'DEFAULT_CONFIG',
  // POLICIES.md:
  'ResultFailureError',
];

describe.each([
  ['ESM import', 'esm.mjs', '/dist/index.js'],
  ['CJS require', 'cjs.cjs', '/dist/index.cjs'],
])('the built package through %s', (_name, script, entry) => {
  let result: { out: any; ms: number };
  beforeAll(() => {
    result = run(script);
  }, 20_000);

  it(`loads ${entry} through package.json exports`, () => {
    expect(String(result.out.resolved).replaceAll('\\', '/')).toMatch(new RegExp(`${entry.replaceAll('.', '\\.')}$`));
  });

  it('exports the documented API', () => {
    expect(result.out.exports).toEqual(expect.arrayContaining(DOCUMENTED_API));
  });

  it('opens a circuit after its failures and serves the cached value', () => {
    const { out } = result;
    expect(out.ok).toEqual({ success: true, data: { id: 'page-1' }, rejected: false, circuitState: 'CLOSED' });
    expect(out.failures).toEqual(Array(3).fill({ success: false, rejected: false, message: 'Test failure' }));
    expect(out.state).toBe('OPEN');
    expect(out.isOpen).toBe(true);
    expect(out.cached).toEqual({ success: true, fromCache: true, rejected: true, data: { id: 'page-1' }, ran: false });
    expect(out.stats).toEqual({
      state: 'OPEN',
      totalRequests: 5,
      successfulRequests: 1,
      failedRequests: 3,
      rejectedRequests: 1,
      timesOpened: 1,
      nextAttemptIsDate: true,
    });
  });

  it('rejects with a CircuitOpenError, wraps a thrown non-Error, and times out a hung call', () => {
    const { out } = result;
    expect(out.wrapped).toEqual({ isError: true, cause: 'plain string' });
    expect(out.rejected).toEqual({
      success: false,
      rejected: true,
      instanceOfCircuitOpenError: true,
      instanceOfError: true,
      name: 'CircuitOpenError',
      executorName: 'writes',
      nextAttemptTime: 'Date',
    });
    expect(out.timeout).toEqual({ success: false, name: 'TimeoutError', instanceOfTimeoutError: true, atLeast50ms: true });
  });

  it('formats the statistics and the summary as documented; CircuitState and DEFAULT_CONFIG as documented', () => {
    const { out } = result;
    expect(out.formatted).toEqual([
      '=== Circuit Breaker: test-service ===',
      'State: OPEN',
      '',
      'Requests:',
      '  Total: 5',
      '  Successful: 1 (20.0%)',
      '  Failed: 3',
      '  Rejected: 1 (20.0%)',
    ]);
    expect(out.summaryRow).toBe('test-service     OPEN        5          20.0%      1');
    expect(out.CircuitState).toEqual({ CLOSED: 'CLOSED', OPEN: 'OPEN', HALF_OPEN: 'HALF_OPEN' });
    expect(out.DEFAULT_CONFIG).toEqual({
      failureThreshold: 5,
      failureWindow: 60_000,
      resetTimeout: 30_000,
      successThreshold: 2,
      requestTimeout: 10_000,
      cacheFallback: true,
      fallbackMaxAge: 300_000,
      fallbackMaxEntries: 100,
      minimumRequests: 10,
      slowCallDuration: 'Infinity',
      slowCallRateThreshold: 1,
      resetTimeoutMultiplier: 1,
      maxResetTimeout: 600_000,
      resetTimeoutJitter: 0,
      maxConcurrent: 'Infinity',
      maxQueue: 0,
      retryBudget: 0.2,
    });
  });

  it('createRegistry gives an isolated registry with its own defaults and clock', () => {
    expect(result.out.registry).toEqual({
      state: 'OPEN', // after 2 failures: its defaults say failureThreshold 2
      nextAttemptTime: '2024-05-01T12:00:30.000Z',
      seenByDefaultRegistry: null,
      executors: ['notion'],
      afterResetTimeout: 'HALF_OPEN',
    });
  });

  it('lets the process exit at once although circuits are still open (timers are unref\'d)', () => {
    // The shortest open circuit would half-open after 5 s; a referenced timer would hold the process.
    expect(result.ms).toBeLessThan(4_000);
  });
});

describe('ESM and CJS together', () => {
  it('are two instances, each with its own default registry (Node\'s dual package behaviour)', () => {
    const { out } = run('esm.mjs');
    expect(out.dual).toEqual({ cjsState: null, sameCircuitOpenError: false });
  }, 20_000);

  it('export the same names', () => {
    expect(run('esm.mjs').out.exports).toEqual(run('cjs.cjs').out.exports);
  }, 20_000);
});

describe('package encapsulation', () => {
  it('exposes package.json but not deep paths into dist', () => {
    const { out } = run('cjs.cjs');
    expect(out.packageJsonName).toBe('executor-circuit-breaker');
    expect(out.deepImport).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  }, 20_000);
});

describe('package.json', () => {
  it('exports "." with import and require conditions, each with its types first', () => {
    expect(pkg.name).toBe('executor-circuit-breaker');
    expect(pkg.type).toBe('module');
    expect(pkg.exports['.']).toEqual({
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    });
    // TypeScript takes the first matching condition: "types" must come before "default".
    expect(Object.keys(pkg.exports['.'].import)[0]).toBe('types');
    expect(Object.keys(pkg.exports['.'].require)[0]).toBe('types');
  });

  it('points every entry field at a file that exists in dist', () => {
    const targets = [
      pkg.main,
      pkg.module,
      pkg.types,
      pkg.exports['.'].import.types,
      pkg.exports['.'].import.default,
      pkg.exports['.'].require.types,
      pkg.exports['.'].require.default,
    ];
    for (const target of targets) {
      expect(target, 'an entry field').toMatch(/^\.\/dist\//);
      expect(existsSync(join(root, target)), `${target} exists`).toBe(true);
    }
    expect(pkg.main).toBe('./dist/index.cjs');
    expect(pkg.module).toBe('./dist/index.js');
  });

  it('requires Node 18 or later', () => {
    expect(pkg.engines).toEqual({ node: '>=18' });
  });

  it('publishes dist, the docs (not docs/api), the examples, README.md and LICENSE; prepack builds dist', () => {
    expect([...pkg.files].sort()).toEqual(['LICENSE', 'README.md', 'dist', 'docs/*.md', 'docs/*.png', 'examples']);
    expect(pkg.scripts.prepack).toBe('npm run build');
  });

  it('packs the built files, docs, examples, README.md, LICENSE and package.json, and nothing else (npm pack --dry-run)', () => {
    const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    const packed: string[] = JSON.parse(json)[0].files.map((f: { path: string }) => f.path);
    expect(packed).toEqual(
      expect.arrayContaining([
        'package.json', 'README.md', 'LICENSE',
        'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts',
        'docs/guide.md', 'examples/README.md',
      ]),
    );
    expect(packed.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/.+|docs\/[^/]+\.(md|png)|examples\/[^/]+\.(mjs|md))$/.test(f))).toEqual([]);
  }, 60_000);

  it('depends on exactly eventemitter3 and lru-cache; the metrics clients and ioredis are optional peers', () => {
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['eventemitter3', 'lru-cache']);
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['@opentelemetry/api', 'ioredis', 'prom-client']);
    for (const peer of Object.keys(pkg.peerDependencies)) {
      expect(pkg.peerDependenciesMeta[peer]).toEqual({ optional: true });
    }
    expect(pkg.optionalDependencies).toBeUndefined();
  });
});
