// Scenario 5 (and the idle-timer column of scenario 6), in a child process of its own:
// it installs an async_hooks hook, which slows every promise, so it must not share a
// process with the timed scenarios.
//
// Timers are counted two ways:
// - live: Timeout resources created and not yet destroyed (fired or cleared), tracked with
//   async_hooks. This sees unref'd timers too, such as opossum's interval timers.
// - ref'd: the 'Timeout' entries of process.getActiveResourcesInfo(), the timers that keep
//   the process alive.
// Each count is taken after a few loop turns: executor-circuit-breaker arms its deadline
// timer a loop turn after a call starts, and async_hooks reports destroys asynchronously.
//
// Prints one JSON object on stdout.

import { createHook } from 'node:async_hooks';
import { loadCockatiel, loadOpossum, loadOurs } from './load.mjs';
import { cockatielBreaker, cockatielWithTimeout } from './scenarios/peers.mjs';

const CALLS = Number(process.env.BENCH_INFLIGHT) || 10_000;
const IDLE_BREAKERS = 1_000;

const live = new Set();
let created = 0;
createHook({
  init(id, type) {
    if (type === 'Timeout') {
      live.add(id);
      created++;
    }
  },
  destroy(id) {
    live.delete(id);
  },
}).enable();

const tick = () => new Promise((resolve) => setImmediate(resolve));
async function settleLoop() {
  for (let i = 0; i < 4; i++) await tick();
}
const refed = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

async function count() {
  await settleLoop();
  return { live: live.size, refed: refed() };
}

/**
 * Starts `CALLS` calls whose fn settles only when released, counts timers while they are
 * all in flight, releases them, and counts again.
 */
async function inflight(label, makeStart) {
  const { start, prepare, executors } = makeStart();
  await prepare?.();
  const idle = await count();
  const createdBefore = created;
  const release = [];
  const pending = () => new Promise((resolve) => release.push(resolve));
  const t0 = process.hrtime.bigint();
  const results = new Array(CALLS);
  for (let i = 0; i < CALLS; i++) results[i] = start(i, pending);
  const during = await count();
  for (const resolve of release) resolve(1);
  const settled = await Promise.allSettled(results);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const after = await count();
  const failed = settled.filter((s) => s.status === 'rejected' || s.value?.success === false).length;
  return {
    label,
    executors,
    calls: CALLS,
    idle,
    during,
    after,
    timersCreated: created - createdBefore,
    failed,
    ms,
  };
}

const ours = await loadOurs();
const CircuitBreaker = loadOpossum();
const cockatiel = await loadCockatiel();

const rows = [];

rows.push(
  await inflight('ours, default (10 s timeout), 1 executor', () => {
    const name = 'inflight-one';
    return {
      executors: 1,
      prepare: () => ours.execute(name, async () => 1),
      start: (i, pending) => ours.execute(name, () => pending()),
    };
  }),
);
rows.push(
  await inflight('ours, default, 100 executors', () => {
    const names = Array.from({ length: 100 }, (_, i) => `inflight-many-${i}`);
    return {
      executors: 100,
      prepare: () => Promise.all(names.map((n) => ours.execute(n, async () => 1))),
      start: (i, pending) => ours.execute(names[i % 100], () => pending()),
    };
  }),
);
rows.push(
  await inflight('ours, default, fn takes the signal', () => {
    const name = 'inflight-signal';
    return {
      executors: 1,
      prepare: () => ours.execute(name, async () => 1),
      start: (i, pending) => ours.execute(name, (signal) => pending()),
    };
  }),
);
let opo;
rows.push(
  await inflight('opossum, default (10 s timeout)', () => {
    let next;
    opo = new CircuitBreaker(() => next());
    return {
      executors: 1,
      prepare: async () => {
        next = async () => 1;
        await opo.fire();
      },
      start: (i, pending) => {
        next = pending;
        return opo.fire();
      },
    };
  }),
);
opo.shutdown();
rows.push(
  await inflight('cockatiel, breaker + 10 s timeout', () => {
    const policy = cockatielWithTimeout(cockatiel, cockatielBreaker(cockatiel));
    return {
      executors: 1,
      prepare: () => policy.execute(async () => 1),
      start: (i, pending) => policy.execute(() => pending()),
    };
  }),
);

// Idle timers per breaker: IDLE_BREAKERS breakers, one successful call each, then count.
async function idlePerBreaker(label, make) {
  const before = await count();
  const keep = [];
  for (let i = 0; i < IDLE_BREAKERS; i++) keep.push(await make(i));
  const after = await count();
  return {
    label,
    breakers: IDLE_BREAKERS,
    livePerBreaker: (after.live - before.live) / IDLE_BREAKERS,
    refedPerBreaker: (after.refed - before.refed) / IDLE_BREAKERS,
    keep,
  };
}

const idle = [];
idle.push(
  await idlePerBreaker('ours', async (i) => {
    await ours.execute(`idle-${i}`, async () => 1);
    return null;
  }),
);
const opossums = [];
idle.push(
  await idlePerBreaker('opossum', async () => {
    const b = new CircuitBreaker(async () => 1);
    await b.fire();
    opossums.push(b);
    return null;
  }),
);
idle.push(
  await idlePerBreaker('cockatiel', async () => {
    const b = cockatielBreaker(cockatiel);
    await b.execute(async () => 1);
    return b;
  }),
);
idle.push(
  await idlePerBreaker('cockatiel+timeout', async () => {
    const b = cockatielWithTimeout(cockatiel, cockatielBreaker(cockatiel));
    await b.execute(async () => 1);
    return b;
  }),
);
for (const b of opossums) b.shutdown();
ours.destroy();

process.stdout.write(JSON.stringify({ inflight: rows, idle: idle.map(({ keep, ...rest }) => rest) }) + '\n');
