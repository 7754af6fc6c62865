/**
 * Every example in examples/ runs with its one command (`node examples/<file>`) against the
 * real Notion and Slack clients and a local fake service, and passes its own checks. The
 * examples import the built package, so they need dist/ (npm run build). They run in
 * parallel, each in its own process.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function node(file: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const options = { cwd: root, timeout: 30_000, env: { ...process.env, ...env } };
    execFile(process.execPath, [join('examples', file)], options, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

/** Each example, the lines its output must contain, and how many of its checks must pass. */
const EXAMPLES: Record<string, { lines: string[]; checks: number }> = {
  'example-1-basic.mjs': {
    lines: ['  call 3: APIResponseError (internal_server_error, HTTP 500)', '  Notion service is currently unavailable'],
    checks: 7,
  },
  'example-2-retry.mjs': {
    lines: ['  query tasks failed after 3 attempts: Notion had an internal error', '  Circuit breaker rejected request'],
    checks: 7,
  },
  'example-3-fallback.mjs': {
    lines: ['  ⚠️ Using cached data - Notion may be down', '  Notion service unavailable and no cached data'],
    checks: 6,
  },
  'example-4-monitoring.mjs': {
    lines: ['🟡 CIRCUIT HALF-OPEN: notion', '🟢 CIRCUIT CLOSED: notion', 'notion           CLOSED      8          50.0%      1'],
    checks: 4,
  },
  'example-5-orchestrator.mjs': {
    lines: ['  [warn] Circuit open for notion, skipping tool notion:createPage'],
    checks: 4,
  },
  'example-6-graceful-degradation.mjs': {
    lines: ['  "Renew the certificate" -> trello card-4', '  All task services are unavailable'],
    checks: 4,
  },
  'example-7-maintenance.mjs': {
    lines: ['  CircuitOpenError: Circuit for "slack" is held open until it is closed', '  [info] Maintenance mode ended for slack'],
    checks: 6,
  },
  'production.mjs': {
    lines: ['{"level":"info","message":"SIGTERM received, shutting down gracefully"}', 'shutdown complete'],
    checks: 10,
  },
  'wrap-client.mjs': {
    lines: ['  tasks (cached): p1, p2, p3', '  projects: CircuitOpenError, write: CircuitOpenError'],
    checks: 6,
  },
  'policies.mjs': {
    lines: ['  missing-4: object_not_found (HTTP 404)', '  ResultFailureError: HTTP 429, Retry-After 1 s'],
    checks: 12,
  },
  'api-clients.mjs': {
    lines: ['  invalid slack  An API error occurred: channel_not_found                     -> the request was wrong'],
    checks: 2,
  },
  'opentelemetry.mjs': {
    lines: ['  circuit_breaker.requests{executor=slack,outcome=rejected} 2'],
    checks: 6,
  },
};

const runs = new Map<string, Run>();

beforeAll(async () => {
  const dist = ['index.js', 'prometheus.js', 'opentelemetry.js', 'health.js', 'dashboard.js'].map((f) => join(root, 'dist', f));
  for (let waited = 0; waited < 15_000 && !dist.every((f) => existsSync(f)); waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (!dist.every((f) => existsSync(f))) throw new Error('dist/ is not built: run `npm run build` first');
  const files = [...Object.keys(EXAMPLES), 'demo.mjs'];
  // The demo in a time zone far from UTC, so that a local time among UTC ones shows.
  const results = await Promise.all(files.map((file) => node(file, file === 'demo.mjs' ? { TZ: 'Asia/Kolkata' } : {})));
  files.forEach((file, i) => runs.set(file, results[i]!));
}, 60_000);

describe('examples/', () => {
  it('every runnable example is listed here and in examples/README.md', () => {
    const helpers = ['clients.mjs', 'flaky-service.mjs'];
    const scripts = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.mjs') && !helpers.includes(f));
    expect(scripts.sort()).toEqual([...Object.keys(EXAMPLES), 'demo.mjs'].sort());
  });

  it.each(Object.entries(EXAMPLES))('node examples/%s runs green', (file, { lines, checks }) => {
    const { code, stdout, stderr } = runs.get(file)!;
    expect(stdout.match(/check failed/), stderr).toBeNull();
    expect(code, `${file} exited with ${code}\n${stdout}\n${stderr}`).toBe(0);
    const out = stdout.split('\n');
    for (const line of lines) expect(out, `${file} prints ${JSON.stringify(line)}`).toContain(line);
    expect(out.filter((l) => l.startsWith('  ✓ ')), `${file}'s checks`).toHaveLength(checks);
    expect(stdout.trim().split('\n').pop()).toMatch(/: ok$|^shutdown complete$/);
    // Nothing unexpected on stderr: no warning, no unhandled rejection (example 4 logs there on purpose).
    expect(stderr).not.toMatch(/Warning|Unhandled|Error:/);
  });

  it('npm run demo\'s script (examples/demo.mjs) still runs to the end', () => {
    const { code, stdout, stderr } = runs.get('demo.mjs')!;
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/notion: CLOSED -> OPEN/);
    expect(stdout).toMatch(/notion: HALF_OPEN -> CLOSED/);
    expect(stdout.trim().split('\n').pop()).toMatch(/\] done$/);
  });

  it('npm run demo -- --dashboard prints the dashboard\'s address on 127.0.0.1, keeps the outage going, and stops on Ctrl-C', async () => {
    const child = spawn(process.execPath, [join('examples', 'demo.mjs'), '--dashboard'], { cwd: root });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const until = Date.now() + 20_000;
      while (!/The outage goes on/.test(stdout) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const url = /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout)?.[1];
      expect(url, stdout).toBeDefined();
      expect(stdout).toContain(`watch it at ${url}`);
      const page = await fetch(url!);
      expect(page.status).toBe(200);
      const snapshot = (await (await fetch(`${url}snapshot`)).json()) as { executors: { name: string; totals: { requests: number } }[] };
      expect(snapshot.executors.map((x) => x.name)).toEqual(['notion', 'slack']);
      const before = snapshot.executors[0]!.totals.requests;
      await new Promise((r) => setTimeout(r, 600));
      const after = (await (await fetch(`${url}snapshot`)).json()) as typeof snapshot;
      expect(after.executors[0]!.totals.requests).toBeGreaterThan(before);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stdout.trim().split('\n').pop()).toMatch(/\] done$/);
  }, 30_000);

  it("the demo prints each transition a call caused just below that call's line", () => {
    const lines = runs.get('demo.mjs')!.stdout.split('\n');
    const caused = lines.flatMap((line, i) => {
      const m = /\] >>> (\w+): \w+ -> (OPEN|CLOSED) /.exec(line);
      return m ? [{ name: m[1]!, to: m[2]!, before: lines[i - 1]! }] : [];
    });
    expect(caused.length).toBeGreaterThanOrEqual(6); // each circuit: opens, reopens, closes
    for (const { name, to, before } of caused) {
      expect(before, `the line above ${name} -> ${to}`).toMatch(new RegExp(`\\]     ${name} +(GET|POST) `));
      expect(before).toContain(to === 'OPEN' ? ' FAILED after ' : ' ok: ');
    }
  });

  it('the demo prints every time of day in UTC (run here with TZ=Asia/Kolkata)', () => {
    const stdout = runs.get('demo.mjs')!.stdout;
    const clock = [...stdout.matchAll(/next attempt (\d\d):(\d\d):(\d\d) UTC/g)].map((m) => (+m[1]! * 60 + +m[2]!) * 60 + +m[3]!);
    const iso = [...stdout.matchAll(/\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d)\.\d{3}Z/g)].map((m) => (+m[1]! * 60 + +m[2]!) * 60 + +m[3]!);
    expect(clock.length).toBeGreaterThanOrEqual(4);
    expect(iso.length).toBeGreaterThanOrEqual(2);
    const all = [...clock, ...iso];
    // The demo lasts seconds: all its times lie within a minute (or straddle midnight UTC).
    const spread = Math.max(...all) - Math.min(...all);
    expect(spread < 60 || spread > 86_400 - 60, `times of day ${all.join(', ')}`).toBe(true);
  });
});
