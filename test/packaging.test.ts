/**
 * The package as npm publishes it: `npm pack` once, from a copy of the repository as a
 * clean clone has it (no dist/, this repository's node_modules linked), so the package's
 * own `prepack` script must build dist/; then
 * - what the tarball holds: every build, and the docs the README links to;
 * - publint and @arethetypeswrong/cli on the tarball, with no problem allowed;
 * - the tarball installed into a scratch project (`npm install --prefer-offline <tgz>`, so
 *   its dependencies come from npm's cache and the optional peers are not installed), then
 *   used from plain ESM and plain CommonJS in real Node processes, first without the
 *   optional peers, then with them (linked from this repository's node_modules);
 * - a strict TypeScript file (and a .cts one) type-checked against it with
 *   moduleResolution node16 and bundler.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const ENTRIES = ['index', 'prometheus', 'opentelemetry', 'health', 'dashboard'];
const BUILT = [...ENTRIES, 'redis'].flatMap((e) => [`${e}.js`, `${e}.cjs`, `${e}.d.ts`, `${e}.d.cts`]);
/** Optional peers and tooling, linked into the scratch project for the second half. */
const LINKED = [
  'prom-client',
  '@opentelemetry/api',
  '@opentelemetry/sdk-metrics',
  'express',
  '@types/node',
  '@types/express',
];

let work: string;
let tarball: string;
let app: string;
let installed: string;

/** Runs `node file` in the scratch project; returns the JSON of its last line of output. */
async function node(file: string): Promise<any> {
  const { stdout } = await run(process.execPath, [file], { cwd: app, timeout: 20_000 });
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`${file} printed no JSON:\n${stdout}`);
  }
}

/** Runs this repository's tsc in the scratch project. */
async function tsc(project: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], {
      cwd: app,
      timeout: 60_000,
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

/** What `npm pack` found and did, from the clean copy. */
interface Packed {
  file: string;
  files: string[];
  /** Whether the copy had a dist/ before packing (a clean clone has none). */
  distBefore: boolean;
}

/**
 * `npm pack` into `work`, as from a clean clone: the repository's files (tracked, or new and
 * not ignored, as they are now) copied into `work/clone`, without dist/, with this
 * repository's node_modules linked. The package's scripts run, so `prepack` builds dist/.
 */
async function pack(): Promise<Packed> {
  const clone = join(work, 'clone');
  const { stdout: list } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const file of list.split('\0')) {
    if (file === '' || !existsSync(join(root, file))) continue; // deleted, not yet committed
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    copyFileSync(join(root, file), join(clone, file));
  }
  symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'), 'junction');
  const distBefore = existsSync(join(clone, 'dist'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: clone,
    timeout: 180_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  // prepack's build logs to stdout ahead of npm's JSON.
  const [info] = JSON.parse(stdout.slice(stdout.lastIndexOf('\n[\n') + 1)) as [{ filename: string; files: { path: string }[] }];
  return { file: join(work, info.filename), files: info.files.map((f) => f.path), distBefore };
}

/** The relative links of a markdown text (no URL, no pure #anchor), without their #anchor. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((link) => !/^[a-z]+:/i.test(link) && !link.startsWith('#'))
    .map((link) => link.split('#')[0]!);
}

// ---------------------------------------------------------------------------------------
// What runs in the scratch project
// ---------------------------------------------------------------------------------------

/** Without the optional peers: the core, health and dashboard entries work; the metrics entries say what is missing. */
const ESM_WITHOUT_PEERS = `
const out = {};
const before = { globals: Object.keys(globalThis).sort(), resources: process.getActiveResourcesInfo().length };
const circuitBreaker = await import('executor-circuit-breaker');
const health = await import('executor-circuit-breaker/health');
const dashboard = await import('executor-circuit-breaker/dashboard');
// Importing has no side effect: no global, no handle, no timer (package.json says sideEffects: false).
out.sideEffects = {
  globals: Object.keys(globalThis).sort().filter((k) => !before.globals.includes(k)),
  resources: process.getActiveResourcesInfo().length - before.resources,
};
circuitBreaker.openCircuit('notion');
out.health = health.healthCheck();
const board = dashboard.createDashboard();
out.dashboard = board.snapshot().executors.map((x) => [x.name, x.state]);
board.close();
for (const entry of ['prometheus', 'opentelemetry']) {
  try {
    await import('executor-circuit-breaker/' + entry);
    out[entry] = 'loaded';
  } catch (error) {
    out[entry] = error.code + ' ' + /Cannot find (?:package|module) '([^']+)'/.exec(error.message)?.[1];
  }
}
console.log(JSON.stringify(out));
`;

const CJS_WITHOUT_PEERS = `
const out = {};
const circuitBreaker = require('executor-circuit-breaker');
const health = require('executor-circuit-breaker/health');
const dashboard = require('executor-circuit-breaker/dashboard');
out.loaded = Object.keys(require.cache).filter((f) => /prom-client|@opentelemetry/.test(f));
circuitBreaker.openCircuit('notion');
out.health = health.healthCheck();
const board = dashboard.createDashboard();
out.dashboard = board.snapshot().executors.map((x) => [x.name, x.state]);
board.close();
for (const entry of ['prometheus', 'opentelemetry']) {
  try {
    require('executor-circuit-breaker/' + entry);
    out[entry] = 'loaded';
  } catch (error) {
    out[entry] = error.code + ' ' + /Cannot find module '([^']+)'/.exec(error.message)?.[1];
  }
}
console.log(JSON.stringify(out));
`;

/**
 * With the peers: every entry, with its default breakers, i.e. the app's own module
 * functions. (If an entry carried its own copy of the core, it would see no breakers.)
 * Takes the module objects so that ESM and CJS share it.
 */
const SCENARIO = String.raw`
async function scenario({ circuitBreaker, prometheus, opentelemetry, health, promClient, sdk }) {
  const out = {};
  const registry = new promClient.Registry();
  const prom = prometheus.registerPrometheusMetrics({ registry });
  const exporter = new sdk.InMemoryMetricExporter(sdk.AggregationTemporality.CUMULATIVE);
  const reader = new sdk.PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600000 });
  const provider = new sdk.MeterProvider({ readers: [reader] });
  const otel = opentelemetry.registerOpenTelemetryMetrics({ meterProvider: provider });

  circuitBreaker.configure('notion', { failureThreshold: 2, cacheFallback: false });
  await circuitBreaker.execute('notion', () => 'ok');
  for (let i = 0; i < 2; i++) await circuitBreaker.execute('notion', () => Promise.reject(new Error('HTTP 500')));
  for (let i = 0; i < 3; i++) await circuitBreaker.execute('notion', () => 'not run');

  const text = await registry.metrics();
  out.prometheus = text.split('\n').filter((l) => /^circuit_breaker_(state|requests_total|opened_total)\{/.test(l)).sort();

  await reader.forceFlush();
  const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics).flatMap((s) => s.metrics);
  const points = (name) => metrics.find((m) => m.descriptor.name === name).dataPoints;
  out.otel = {
    state: points('circuit_breaker.state').map((p) => [p.attributes.executor, p.value]),
    requests: Object.fromEntries(points('circuit_breaker.requests').map((p) => [p.attributes.outcome, p.value])),
  };

  out.health = health.healthCheck();
  prom.detach();
  otel.detach();
  await provider.shutdown();
  out.afterDetach = (await registry.metrics()).trim();
  // Nothing registered itself anywhere on import: prom-client's global registry is empty.
  out.globalRegistry = promClient.register.getMetricsAsArray().length;
  return out;
}
`;

const ESM_WITH_PEERS = `
import * as circuitBreaker from 'executor-circuit-breaker';
import * as prometheus from 'executor-circuit-breaker/prometheus';
import * as opentelemetry from 'executor-circuit-breaker/opentelemetry';
import * as health from 'executor-circuit-breaker/health';
import * as promClient from 'prom-client';
import * as sdk from '@opentelemetry/sdk-metrics';
${SCENARIO}
const out = await scenario({ circuitBreaker, prometheus, opentelemetry, health, promClient, sdk });
out.resolved = ['', '/prometheus', '/opentelemetry', '/health', '/dashboard'].map((e) => import.meta.resolve('executor-circuit-breaker' + e));
console.log(JSON.stringify(out));
`;

const CJS_WITH_PEERS = `
${SCENARIO}
scenario({
  circuitBreaker: require('executor-circuit-breaker'),
  prometheus: require('executor-circuit-breaker/prometheus'),
  opentelemetry: require('executor-circuit-breaker/opentelemetry'),
  health: require('executor-circuit-breaker/health'),
  promClient: require('prom-client'),
  sdk: require('@opentelemetry/sdk-metrics'),
}).then((out) => {
  out.resolved = ['', '/prometheus', '/opentelemetry', '/health', '/dashboard'].map((e) => require.resolve('executor-circuit-breaker' + e));
  console.log(JSON.stringify(out));
});
`;

/** Type-checked with --strict, resolving every entry point through the package's exports. */
const TS_CHECK = `
import http from 'node:http';
import express from 'express';
import { Registry } from 'prom-client';
import { metrics } from '@opentelemetry/api';
import * as circuitBreaker from 'executor-circuit-breaker';
import { CircuitState, createRegistry, type CircuitBreakerStats } from 'executor-circuit-breaker';
import { registerPrometheusMetrics, type PrometheusMetrics } from 'executor-circuit-breaker/prometheus';
import { registerOpenTelemetryMetrics, type OpenTelemetryMetrics, type Outcome } from 'executor-circuit-breaker/opentelemetry';
import { createHealthHandler, healthCheck, type CircuitBreakerHealth, type HealthCheckResult } from 'executor-circuit-breaker/health';
import { createDashboard, type Dashboard, type DashboardAction, type DashboardSnapshot } from 'executor-circuit-breaker/dashboard';

const breakers = createRegistry();
const prom: PrometheusMetrics = registerPrometheusMetrics({ registry: new Registry(), breakers });
// The module namespace is a valid source of breakers.
registerPrometheusMetrics({ registry: new Registry(), breakers: circuitBreaker, buckets: [0.1, 1] }).detach();
const otel: OpenTelemetryMetrics = registerOpenTelemetryMetrics({ meter: metrics.getMeter('app'), breakers });
const outcome: Outcome = 'fallback';
const result: HealthCheckResult = healthCheck({ breakers });
const status: 200 | 503 = result.statusCode;
const body: CircuitBreakerHealth = result.body;
// The state in the report is the package's own CircuitState.
const state: CircuitState | undefined = body.circuits['notion']?.state;
const stats: CircuitBreakerStats | null = breakers.getStats('notion');
http.createServer(createHealthHandler());
express().get('/health', createHealthHandler({ breakers })).use('/h', createHealthHandler());
prom.detach();
otel.detach();
const dashboard: Dashboard = createDashboard({ breakers, controls: { authorize: (req) => req.headers.host === 'ops' } });
express().use('/ops/breakers', dashboard);
http.createServer(createDashboard());
const snapshot: DashboardSnapshot = dashboard.snapshot();
const next: number | null = snapshot.executors[0]?.nextAttemptTime ?? null;
dashboard.on('action', (a: DashboardAction) => console.log(a.action, a.executorName, a.allowed));
dashboard.close();

// @ts-expect-error: the interval is a number of ms
createDashboard({ interval: '1s' });
// @ts-expect-error: a prefix is a string
registerPrometheusMetrics({ prefix: 1 });
// @ts-expect-error: not an option
healthCheck({ registry: breakers });
// @ts-expect-error: the status is 200 or 503
const notFound: 404 = result.statusCode;
// @ts-expect-error: not an outcome
const wrong: Outcome = 'error';
export { outcome, status, state, stats, notFound, wrong, next };
`;

const CTS_CHECK = `
import circuitBreaker = require('executor-circuit-breaker');
import prometheus = require('executor-circuit-breaker/prometheus');
import opentelemetry = require('executor-circuit-breaker/opentelemetry');
import health = require('executor-circuit-breaker/health');
import dashboard = require('executor-circuit-breaker/dashboard');

const breakers = circuitBreaker.createRegistry();
dashboard.createDashboard({ breakers }).close();
prometheus.registerPrometheusMetrics({ breakers }).detach();
opentelemetry.registerOpenTelemetryMetrics({ breakers }).detach();
const code: 200 | 503 = health.healthCheck({ breakers }).statusCode;
const state: circuitBreaker.CircuitState | undefined = health.healthCheck().body.circuits['x']?.state;
// @ts-expect-error: breakers must have getAllStats
health.healthCheck({ breakers: {} });
export = { code, state };
`;

function tsconfig(compilerOptions: object, files: string[]): string {
  const strict = { strict: true, noEmit: true, skipLibCheck: false, types: ['node'], lib: ['ES2022'], target: 'ES2022' };
  return JSON.stringify({ compilerOptions: { ...strict, ...compilerOptions }, files }, null, 2);
}

// ---------------------------------------------------------------------------------------

let packed: string[];
let distBefore: boolean;
let publintMessages: string[];
let attw: { code: number; problems: unknown[]; entrypoints: string[] };
let without: { esm: any; cjs: any };
let withPeers: { esm: any; cjs: any };
let typecheck: { node16: { code: number; output: string }; bundler: { code: number; output: string } };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'circuit-breaker-pack-'));
  ({ file: tarball, files: packed, distBefore } = await pack());
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));

  const lint = (async () => {
    const { messages, pkg: linted } = await publint({
      pack: { tarball: readFileSync(tarball).buffer as ArrayBuffer },
      level: 'suggestion',
      strict: true,
    });
    return messages.map((m) => `${m.type}: ${formatMessage(m, linted) ?? m.code}`);
  })();
  const types = (async () => {
    const bin = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    let stdout: string;
    let code = 0;
    try {
      ({ stdout } = await run(process.execPath, [bin, tarball, '--format', 'json', '--no-definitely-typed'], { timeout: 60_000 }));
    } catch (error) {
      const e = error as { code?: number; stdout?: string };
      code = typeof e.code === 'number' ? e.code : -1;
      stdout = e.stdout ?? '{}';
    }
    const json = JSON.parse(stdout);
    return {
      code,
      // Every problem found, by entry point and resolution mode; [] when there is none.
      problems: json.analysis?.problems ?? ['attw printed no analysis'],
      entrypoints: Object.keys(json.analysis?.entrypoints ?? {}),
    };
  })();
  // --prefer-offline: eventemitter3 and lru-cache come from npm's cache; the optional peers are not installed.
  const install = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', '--no-package-lock', '--loglevel=error', tarball],
    { cwd: app, timeout: 120_000 },
  );
  [publintMessages, attw] = await Promise.all([lint, types, install]);
  installed = join(app, 'node_modules', 'executor-circuit-breaker');

  writeFileSync(join(app, 'without-peers.mjs'), ESM_WITHOUT_PEERS);
  writeFileSync(join(app, 'without-peers.cjs'), CJS_WITHOUT_PEERS);
  without = { esm: await node('without-peers.mjs'), cjs: await node('without-peers.cjs') };

  for (const name of LINKED) {
    mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(app, 'node_modules', name), 'junction');
  }
  writeFileSync(join(app, 'with-peers.mjs'), ESM_WITH_PEERS);
  writeFileSync(join(app, 'with-peers.cjs'), CJS_WITH_PEERS);
  writeFileSync(join(app, 'check.ts'), TS_CHECK);
  writeFileSync(join(app, 'check-cjs.cts'), CTS_CHECK);
  writeFileSync(join(app, 'tsconfig.node16.json'), tsconfig({ module: 'node16', moduleResolution: 'node16' }, ['check.ts', 'check-cjs.cts']));
  writeFileSync(join(app, 'tsconfig.bundler.json'), tsconfig({ module: 'preserve', moduleResolution: 'bundler' }, ['check.ts']));
  const [esm, cjs, node16, bundler] = await Promise.all([
    node('with-peers.mjs'),
    node('with-peers.cjs'),
    tsc('tsconfig.node16.json'),
    tsc('tsconfig.bundler.json'),
  ]);
  withPeers = { esm, cjs };
  typecheck = { node16, bundler };
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds every entry point, ESM, CommonJS and their declarations, built by prepack from a clean clone', () => {
    expect(distBefore).toBe(false);
    expect(pkg.scripts.prepack).toBe('npm run build');
    for (const file of BUILT) expect(packed, file).toContain(`dist/${file}`);
    expect(packed.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/.+|docs\/[^/]+\.(md|png)|examples\/[^/]+\.(mjs|md))$/.test(f))).toEqual([]);
  });

  it('holds the docs the README links to, and every relative link of a shipped page resolves inside it', () => {
    const readmeLinks = relativeLinks(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(readmeLinks).toEqual(expect.arrayContaining(['docs/guide.md', 'docs/decisions.md', 'examples/README.md']));
    for (const link of readmeLinks) expect(packed, `README.md links to ${link}`).toContain(link);
    for (const page of packed.filter((f) => f.endsWith('.md'))) {
      for (const link of relativeLinks(readFileSync(join(installed, page), 'utf8'))) {
        expect(packed, `${page} links to ${link}`).toContain(posix.join(posix.dirname(page), link));
      }
    }
    expect(packed.filter((f) => f.startsWith('docs/api/'))).toEqual([]);
  });

  it('publint finds nothing, not even a suggestion', () => {
    expect(publintMessages).toEqual([]);
  });

  it('@arethetypeswrong/cli finds no problem in any entry point (node10, node16 CJS and ESM, bundler)', () => {
    expect(attw.problems).toEqual([]);
    expect(attw.code).toBe(0);
    expect(attw.entrypoints.sort()).toEqual([
      '.',
      './dashboard',
      './health',
      './opentelemetry',
      './package.json',
      './prometheus',
      './redis',
    ]);
  });
});

describe('the core entry never loads the optional peers', () => {
  it('dist/index.js and dist/index.cjs import nothing but eventemitter3 and lru-cache', () => {
    for (const file of ['index.js', 'index.cjs']) {
      const code = readFileSync(join(installed, 'dist', file), 'utf8');
      expect(code, file).not.toMatch(/prom-client|@opentelemetry|node:http/);
      const imports = [...code.matchAll(/(?:from\s+|require\()\s*["']([^"']+)["']/g)].map((m) => m[1]);
      expect(new Set(imports), file).toEqual(new Set(['eventemitter3', 'lru-cache']));
    }
  });

  it('the integration entries reach the core through ./index.js (./index.cjs) and do not carry a copy of it', () => {
    for (const entry of ['prometheus', 'opentelemetry', 'health', 'redis', 'dashboard']) {
      const esm = readFileSync(join(installed, 'dist', `${entry}.js`), 'utf8');
      const cjs = readFileSync(join(installed, 'dist', `${entry}.cjs`), 'utf8');
      expect(esm).toMatch(/from "\.\/index\.js"/);
      expect(cjs).toMatch(/require\("\.\/index\.cjs"\)/);
      // The redis entry's handle is an eventemitter3 emitter (a dependency, imported, not copied).
      const copied = entry === 'redis' ? /class Breaker|class CircuitOpenError|lru-cache/ : /class Breaker|class CircuitOpenError|lru-cache|eventemitter3/;
      for (const code of [esm, cjs]) expect(code).not.toMatch(copied);
    }
    // ioredis is only ever handed in: the redis entry never loads it.
    for (const file of ['redis.js', 'redis.cjs']) {
      expect(readFileSync(join(installed, 'dist', file), 'utf8'), file).not.toMatch(/["']ioredis["']/);
    }
  });

  it('without the peers installed, the core, health and dashboard work from ESM and CJS; the metrics entries name the missing peer', () => {
    const expectedHealth = {
      statusCode: 503,
      body: {
        overall: 'degraded',
        circuits: {
          notion: { state: 'OPEN', healthy: false, successRate: '100.0%', totalRequests: 0, rejectedRequests: 0, avgResponseTime: '0ms' },
        },
      },
    };
    expect(without.esm.health).toEqual(expectedHealth);
    expect(without.cjs.health).toEqual(expectedHealth);
    // The dashboard sees the app's own breakers: it carries no copy of the core.
    expect(without.esm.dashboard).toEqual([['notion', 'OPEN']]);
    expect(without.cjs.dashboard).toEqual([['notion', 'OPEN']]);
    expect(without.esm.prometheus).toBe('ERR_MODULE_NOT_FOUND prom-client');
    expect(without.esm.opentelemetry).toBe('ERR_MODULE_NOT_FOUND @opentelemetry/api');
    expect(without.cjs.prometheus).toBe('MODULE_NOT_FOUND prom-client');
    expect(without.cjs.opentelemetry).toBe('MODULE_NOT_FOUND @opentelemetry/api');
    expect(without.cjs.loaded).toEqual([]);
  });

  it('importing the core, health and dashboard has no side effect (package.json says sideEffects: false)', () => {
    expect(pkg.sideEffects).toBe(false);
    expect(without.esm.sideEffects).toEqual({ globals: [], resources: 0 });
  });
});

describe.each(['esm', 'cjs'] as const)('installed, with the peers, from plain %s', (kind) => {
  it('resolves each entry point to its own build', () => {
    const ext = kind === 'esm' ? 'js' : 'cjs';
    const resolved = (withPeers[kind].resolved as string[]).map((p) => p.replaceAll('\\', '/'));
    expect(resolved).toHaveLength(5);
    ENTRIES.forEach((entry, i) => {
      expect(resolved[i]).toMatch(new RegExp(`/node_modules/executor-circuit-breaker/dist/${entry}\\.${ext}$`));
    });
  });

  it('the metrics and health entries see the breakers of the app\'s own module functions', () => {
    const out = withPeers[kind];
    expect(out.prometheus).toEqual([
      'circuit_breaker_opened_total{executor="notion"} 1',
      'circuit_breaker_requests_total{executor="notion",outcome="failure"} 2',
      'circuit_breaker_requests_total{executor="notion",outcome="fallback"} 0',
      'circuit_breaker_requests_total{executor="notion",outcome="rejected"} 3',
      'circuit_breaker_requests_total{executor="notion",outcome="success"} 1',
      'circuit_breaker_requests_total{executor="notion",outcome="timeout"} 0',
      'circuit_breaker_state{executor="notion"} 2',
    ]);
    expect(out.otel).toEqual({
      state: [['notion', 2]],
      requests: { success: 1, failure: 2, timeout: 0, rejected: 3, fallback: 0 },
    });
    expect(out.health.statusCode).toBe(503);
    expect(out.health.body.circuits.notion).toMatchObject({ state: 'OPEN', successRate: '16.7%', rejectedRequests: 3 });
    expect(out.afterDetach).toBe('');
    expect(out.globalRegistry).toBe(0);
  });
});

describe('TypeScript --strict against the installed declarations', () => {
  it.each(['node16', 'bundler'] as const)('type-checks with moduleResolution %s (every @ts-expect-error is used)', (mode) => {
    const { code, output } = typecheck[mode];
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
