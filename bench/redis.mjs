// executor-circuit-breaker/redis: what sharing costs (`npm run bench` runs it after run.mjs;
// alone: `npm run build && node bench/redis.mjs`).
//
// 1. Success path on a closed circuit, in this process: a registry with sharing attached
//    (a live ioredis connection, fleet-wide failure counting on) against one without, same
//    harness as bench/run.mjs (interleaved rounds, medians). Target: within 10%.
// 2. Open propagation across 3 replica processes (test/fixtures/replica.mjs on the built
//    package) and one Redis: one replica opens (or closes) a circuit by hand; the delay is
//    from just before that call to the other two replicas' own circuit:opened /
//    circuit:closed events (performance.timeOrigin + performance.now() in each process, so
//    the figures carry the clocks' sub-millisecond disagreement).
// 3. Overshoot under load: 3 replica processes, each with 10 callers calling a local HTTP
//    service in a loop, fleet-wide count, failureThreshold 5. The service goes down (warm:
//    the callers were running against it; cold: it is down from the first call); the figure
//    is how many calls reach the dead service before every replica is OPEN.
// 4. Lease traffic in HALF_OPEN: the same fleet, its circuit half-open, the lease holder's
//    probes hanging on the service; Redis's own command counts (INFO commandstats) over 2 s.
//
// BENCH_REDIS_PARTS=3,4 runs only the parts named (default: all).
//
// Starts its own redis-server (on 127.0.0.1, a free port, no persistence) and stops it; when
// redis-server is not installed, says so and skips. BENCH_QUICK=1: a smoke run.

import { fork, spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { QUICK, SETTINGS, fmtNs, median, runScenario, table, timingTable, wrap } from './harness.mjs';

const wallStart = process.hrtime.bigint();
const elapsedS = () => Number(process.hrtime.bigint() - wallStart) / 1e9;
const BINARY = process.env.REDIS_SERVER ?? 'redis-server';
const PROPAGATIONS = Number(process.env.BENCH_PROPAGATIONS) || (QUICK ? 20 : 200);
const PARTS = new Set((process.env.BENCH_REDIS_PARTS ?? '1,2,3,4').split(',').map(Number));
const OVERSHOOT_ROUNDS = QUICK ? 2 : 6;
const PAUSE = Number(process.env.BENCH_PAUSE ?? 10);

console.log('\nexecutor-circuit-breaker/redis: sharing circuit state through Redis');
const version = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) {
  console.log(`SKIPPED: ${BINARY} is not installed (apt-get install redis-server, or set REDIS_SERVER=/path/to/redis-server)`);
  process.exit(0);
}
console.log(`${version.stdout.trim().split(' sha=')[0]}; node ${process.versions.node}`);

const { createRegistry } = await import('executor-circuit-breaker');
const { shareCircuitState } = await import('executor-circuit-breaker/redis');
const { Redis } = await import('ioredis');

// ---- replicas and a service -------------------------------------------------------------------

const replicaFile = process.env.BENCH_REPLICA ?? fileURLToPath(new URL('../test/fixtures/replica.mjs', import.meta.url));

/** Three replica processes on the built package, resolved once each has synced. */
function startReplicas(options) {
  return Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise((resolve, reject) => {
          const child = fork(replicaFile, [], {
            env: { ...process.env, REPLICA: JSON.stringify({ port: redisServer.port, ...options }) },
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          });
          children.push(child);
          const r = { child, events: [], waiting: new Map(), next: 0, synced: false };
          child.on('message', (msg) => {
            if (typeof msg.id === 'number') r.waiting.get(msg.id)?.(msg), r.waiting.delete(msg.id);
            else if (msg.event === 'synced') (r.synced = true), resolve(r);
            else r.events.push(msg);
          });
          child.on('exit', (code) => reject(new Error(`replica exited (${code})`)));
        }),
    ),
  );
}

function send(r, op, args = {}) {
  return new Promise((resolve) => {
    const id = r.next++;
    r.waiting.set(id, resolve);
    r.child.send({ id, op, ...args });
  });
}

/** A local HTTP service; per executor name: 'up' (200), 'down' (500) or 'hang' (no answer until release()). */
async function startService() {
  const mode = new Map();
  const hits = [];
  const hung = [];
  const server = http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const name = query.get('name') ?? '';
    const m = mode.get(name) ?? 'up';
    hits.push({ name, mode: m, state: query.get('state') });
    if (m === 'hang') return void hung.push(res);
    res.statusCode = m === 'up' ? 200 : 500;
    res.end(m);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    mode,
    hits,
    release: () => hung.splice(0).forEach((res) => res.end('late')),
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

// ---- a throwaway redis-server -----------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const port = await freePort();
  const proc = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => (s.destroy(), resolve(d.toString().startsWith('+PONG'))));
      s.on('error', () => resolve(false));
    });
    if (ok) return { port, stop: () => proc.kill('SIGKILL') };
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const redisServer = await startRedis();
const children = [];
const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
  redisServer.stop();
};
process.on('exit', cleanup);

const targets = [];
let ratio = null;
try {
  // ---- 1. success path -----------------------------------------------------------------------
  if (PARTS.has(1)) {

  // Two registries, the same but for sharing; then the roles swap (sharing detached from one,
  // attached to the other), so a bias of one registry instance (JIT, memory layout) cancels
  // out: the ratio reported is the geometric mean of the two phases'.
  const redis = new Redis({ host: '127.0.0.1', port: redisServer.port, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const regs = [createRegistry(), createRegistry()];
  const fn = async () => 1;
  const phases = [];
  for (const sharedIndex of [1, 0]) {
    const shared = regs[sharedIndex];
    const plain = regs[1 - sharedIndex];
    const sharing = shareCircuitState(redis, { breakers: shared, prefix: 'bench:', countFailuresFleetWide: true });
    await new Promise((resolve) => sharing.once('synced', resolve));
    const contenders = [
      { id: 'bare', label: 'bare await fn()', kind: 'baseline', op: fn },
      { id: 'plain', label: `ours, no sharing (registry ${1 - sharedIndex + 1})`, kind: 'ours', op: () => plain.execute('svc', fn) },
      {
        id: 'shared',
        label: `ours, sharing attached, fleet-wide failures on (registry ${sharedIndex + 1})`,
        kind: 'ours',
        op: () => shared.execute('svc', fn),
      },
    ];
    const results = await runScenario(contenders);
    if (shared.getState('svc') !== 'CLOSED' || (await redis.dbsize()) > 0) console.log('WARNING: the shared circuit did not stay closed and quiet');
    await sharing.close();
    const byId = Object.fromEntries(results.map((r) => [r.id, r]));
    phases.push({ results, ratio: byId.shared.median / byId.plain.median, diff: byId.shared.median - byId.plain.median });
  }
  redis.disconnect();
  ratio = Math.sqrt(phases[0].ratio * phases[1].ratio);
  console.log(`\n1. success path, closed circuit: sharing attached vs not\n${wrap('fn = async () => 1; default configuration; ' +
    `${SETTINGS.rounds} interleaved rounds of ~${SETTINGS.batchMs} ms batches per phase; ns/call = median (min..max); ` +
    'two phases, the registries swapping roles')}`);
  for (const [i, phase] of phases.entries()) {
    console.log(`\nphase ${i + 1}\n`);
    console.log(timingTable(phase.results));
    console.log(`ratio shared / no sharing (whole call): ${phase.ratio.toFixed(3)} (${fmtNs(phase.diff)} ns/call)`);
  }
  console.log(`\nratio shared / no sharing, both phases (geometric mean): ${ratio.toFixed(3)}`);
  targets.push(['success path with sharing within 10% of without', `ratio ${ratio.toFixed(3)}`, ratio <= 1.1 ? 'MET' : 'MISSED']);
  }

  if (PARTS.has(2)) {
  // ---- 2. propagation ----------------------------------------------------------------------------

  const replicas = await startReplicas({ prefix: 'bench-fleet:', config: { resetTimeout: 600_000 } });
  const delays = { OPEN: [], CLOSED: [] };
  for (let i = 0; i < PROPAGATIONS; i++) {
    const origin = replicas[i % 3];
    const others = replicas.filter((r) => r !== origin);
    for (const [op, state] of [['open', 'OPEN'], ['close', 'CLOSED']]) {
      const marks = others.map((r) => r.events.length);
      const { at } = await send(origin, op);
      const deadline = Date.now() + 5_000;
      let seen;
      for (;;) {
        seen = others.map((r, k) => r.events.slice(marks[k]).find((e) => e.event === 'transition' && e.state === state));
        if (seen.every(Boolean)) break;
        if (Date.now() > deadline) throw new Error(`${op} did not propagate within 5 s`);
        await new Promise((r) => setImmediate(r));
      }
      for (const e of seen) delays[state].push(e.at - at);
    }
  }
  const pct = (values, p) => {
    const s = [...values].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  };
  const ms = (v) => `${v.toFixed(2)} ms`;
  const rows = Object.entries(delays).map(([state, d]) => [
    state === 'OPEN' ? 'openCircuit -> OPEN elsewhere' : 'closeCircuit -> CLOSED elsewhere',
    String(d.length),
    ms(median(d)),
    ms(pct(d, 99)),
    ms(Math.max(...d)),
  ]);
  console.log(`\n2. propagation across 3 replica processes and one Redis (localhost)\n`);
  console.log(table(['change in one replica', 'samples', 'p50', 'p99', 'max'], rows, 'lrrrr'));

  targets.push(['open propagation p99 (3 processes)', ms(pct(delays.OPEN, 99)), 'reported']);
  for (const r of replicas) r.child.kill('SIGKILL');
  }

  // ---- 3. overshoot under load ----------------------------------------------------------------
  if (PARTS.has(3) || PARTS.has(4)) {
    const service = await startService();
    const fleetConfig = { failureThreshold: 5, failureWindow: 60_000, resetTimeout: 60_000, successThreshold: 2, requestTimeout: 2_000 };
    const replicas = await startReplicas({ prefix: 'bench-load:', fleet: true, config: fleetConfig });
    const states = (name) => Promise.all(replicas.map(async (r) => (await send(r, 'state', { name })).state));
    const waitFor = async (what, check, ms = 20_000) => {
      const deadline = Date.now() + ms;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    const load = (name, every = PAUSE) => Promise.all(replicas.map((r) => send(r, 'load', { url: service.url, every, concurrency: 10, name })));
    const unload = () => Promise.all(replicas.map((r) => send(r, 'unload')));

    if (PARTS.has(3)) {
      const overshoot = { warm: [], cold: [] };
      for (let round = 0; round < OVERSHOOT_ROUNDS; round++) {
        for (const kind of ['warm', 'cold']) {
          const name = `${kind}-${round}`;
          service.mode.set(name, kind === 'warm' ? 'up' : 'down');
          await load(name);
          if (kind === 'warm') {
            await new Promise((r) => setTimeout(r, 200));
            service.mode.set(name, 'down');
          }
          await waitFor(`${name} open everywhere`, async () => (await states(name)).every((s) => s === 'OPEN'));
          await unload();
          await new Promise((r) => setTimeout(r, 50)); // calls in flight land
          overshoot[kind].push(service.hits.filter((h) => h.name === name && h.mode === 'down').length);
        }
      }
      const rows = Object.entries(overshoot).map(([kind, v]) => [
        kind === 'warm' ? 'warm (callers running, then the service goes down)' : 'cold (down from the first call)',
        String(v.length),
        String(Math.min(...v)),
        String(median(v)),
        String(Math.max(...v)),
        v.join(' '),
      ]);
      console.log(`\n3. overshoot: calls reaching the dead service before the fleet is OPEN\n${wrap(
        `3 replica processes x 10 concurrent callers (each calling again ${PAUSE} ms after its last result), fleet-wide count, failureThreshold 5; ` +
          `${OVERSHOOT_ROUNDS} rounds of each kind`,
      )}\n`);
      console.log(table(['start', 'rounds', 'min', 'median', 'max', 'each round'], rows, 'lrrrrl'));
      targets.push(['overshoot under load, warm (threshold 5)', `median ${median(overshoot.warm)}, max ${Math.max(...overshoot.warm)}`, 'reported']);
      targets.push(['overshoot under load, cold (threshold 5)', `median ${median(overshoot.cold)}, max ${Math.max(...overshoot.cold)}`, 'reported']);
    }

    // ---- 4. lease traffic in HALF_OPEN ------------------------------------------------------------
    if (PARTS.has(4)) {
      const name = 'lease';
      const admin = new Redis({ host: '127.0.0.1', port: redisServer.port });
      const scripts = async () => {
        const info = await admin.info('commandstats');
        let calls = 0;
        for (const m of info.matchAll(/^cmdstat_(evalsha|eval|evalsha_ro|eval_ro|fcall):calls=(\d+)/gm)) calls += Number(m[2]);
        return calls;
      };
      for (const r of replicas) await send(r, 'configure', { name, config: { resetTimeout: 300, requestTimeout: 5_000 } });
      service.mode.set(name, 'down');
      await load(name);
      await waitFor('lease circuit open everywhere', async () => (await states(name)).every((s) => s === 'OPEN'));
      service.mode.set(name, 'hang'); // the probes that get through hang: the lease stays held
      await load(name, 0); // callers calling again at once: the most lease requests
      await waitFor('a probe hanging', () => service.hits.some((h) => h.name === name && h.mode === 'hang'), 5_000);
      await new Promise((r) => setTimeout(r, 200));
      const before = await scripts();
      const started = Date.now();
      await new Promise((r) => setTimeout(r, 2_000));
      const after = await scripts();
      const seconds = (Date.now() - started) / 1000;
      const hanging = service.hits.filter((h) => h.name === name && h.mode === 'hang').length;
      await unload();
      service.mode.set(name, 'up');
      service.release();
      const perSecond = (after - before) / seconds;
      console.log(`\n4. lease traffic in HALF_OPEN\n${wrap(
        '3 replica processes x 10 concurrent callers (each calling again at once), the circuit HALF_OPEN, the lease holder\'s probes hanging (requestTimeout 5 s); ' +
          'script calls (EVAL/EVALSHA) counted by Redis over 2 s',
      )}\n`);
      console.log(table(['figure', 'value'], [
        ['script calls per second, whole fleet', perSecond.toFixed(0)],
        ['probes that reached the service', `${hanging} (${[...new Set(service.hits.filter((h) => h.name === name && h.mode === 'hang').map((h) => h.state))].join(', ')})`],
      ], 'lr'));
      targets.push(['lease traffic in HALF_OPEN (3 x 10 callers)', `${perSecond.toFixed(0)} script calls/s`, 'reported']);
      admin.disconnect();
    }
    for (const r of replicas) r.child.kill('SIGKILL');
    await service.close();
  }

  console.log('\ntargets\n');
  console.log(table(['target', 'measured', 'result'], targets, 'lll'));
  console.log(`\nredis bench total ${elapsedS().toFixed(1)} s`);
} finally {
  cleanup();
}
process.exit(0);
