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

function node(file: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join('examples', file)], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) => {
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
  const results = await Promise.all(files.map((file) => node(file)));
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
});
