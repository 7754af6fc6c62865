// Scenarios 6 and 7, each run in a child process started with `node --expose-gc`.
//
//   node --expose-gc bench/heap-child.mjs breakers <ours|opossum|cockatiel|cockatiel+timeout> [N]
//   node --expose-gc bench/heap-child.mjs calls [CALLS] [policies]
//
// Heap is process.memoryUsage().heapUsed after several global.gc() calls with loop turns
// between them (so finalization and async_hooks-free cleanups run). Prints one JSON object.

import { loadCockatiel, loadOpossum, loadOurs } from './load.mjs';
import { cockatielBreaker, cockatielWithTimeout } from './scenarios/peers.mjs';

if (typeof global.gc !== 'function') {
  console.error('heap-child.mjs needs node --expose-gc');
  process.exit(2);
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function heapUsed() {
  for (let i = 0; i < 6; i++) {
    await tick();
    global.gc();
  }
  return process.memoryUsage().heapUsed;
}

const [mode, what, arg] = process.argv.slice(2);

/** An isFailure, a failure-rate rule and a slow-call rule: the rate window is on. */
const POLICIES = {
  isFailure: (error) => error?.status !== 404,
  failureRateThreshold: 0.5,
  minimumRequests: 20,
  slowCallDuration: 1_000,
  slowCallRateThreshold: 0.5,
};

if (mode === 'breakers') {
  // Scenario 6: retained heap per breaker after one successful call.
  const N = Number(arg) || 10_000;
  const ok = async () => 1;
  let make;
  if (what === 'ours' || what === 'ours+policies') {
    const ours = await loadOurs();
    // With the rate rules on, each breaker holds its rate window (made with the breaker).
    const policies = what === 'ours+policies';
    // Through the package's own registry, as a user does; the registry holds the breaker,
    // the caller holds nothing.
    make = async (name) => {
      if (policies) ours.configure(name, POLICIES);
      await ours.execute(name, ok);
      return null;
    };
  } else if (what === 'opossum') {
    const CircuitBreaker = loadOpossum();
    make = async () => {
      const breaker = new CircuitBreaker(ok, {});
      await breaker.fire();
      return breaker;
    };
  } else if (what === 'cockatiel' || what === 'cockatiel+timeout') {
    const cockatiel = await loadCockatiel();
    make = async () => {
      const breaker = cockatielBreaker(cockatiel);
      const policy = what === 'cockatiel' ? breaker : cockatielWithTimeout(cockatiel, breaker);
      await policy.execute(ok);
      return policy;
    };
  } else {
    throw new Error(`unknown library ${what}`);
  }
  // Names and the array that keeps the peers' breakers exist before the first measurement,
  // so only what a breaker itself retains is counted.
  const names = Array.from({ length: N }, (_, i) => `heap-breaker-${i}`);
  const warmNames = Array.from({ length: 200 }, (_, i) => `heap-warm-${i}`);
  const keep = new Array(N).fill(null);
  const warm = [];
  for (const name of warmNames) warm.push(await make(name)); // code and shapes loaded
  const before = await heapUsed();
  for (let i = 0; i < N; i++) keep[i] = await make(names[i]);
  const after = await heapUsed();
  process.stdout.write(
    JSON.stringify({ mode, lib: what, breakers: N, before, after, perBreaker: (after - before) / N, kept: keep.length + warm.length }) + '\n',
  );
  process.exit(0); // opossum's interval timers are unref'd, but do not wait on anything
} else if (mode === 'calls') {
  // Scenario 7: heap before and after 1,000,000 calls across 100 executors (ours).
  const CALLS = Number(what) || 1_000_000;
  const EXECUTORS = 100;
  const ours = await loadOurs();
  const names = Array.from({ length: EXECUTORS }, (_, i) => `heap-calls-${i}`);
  const policies = arg === 'policies';
  // One call in ten fails, under every rule's threshold: the window fills and turns over.
  if (policies) for (const name of names) ours.configure(name, { ...POLICIES, failureThreshold: Infinity });
  const ERR = new Error('boom');
  const failing = async () => {
    throw ERR;
  };
  const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
  let counter = 0;
  // A mix: fns with and without the signal, a new value each call (the fallback cache
  // replaces its entry every time), and one call in ten with a cacheKey (each executor
  // cycles through 50 keys, so its LRU of keyed entries fills up and stays full).
  const noSignal = async () => ++counter;
  const withSignal = async (signal) => ++counter;
  const options = keys.map((cacheKey) => ({ cacheKey }));
  async function run(from, to) {
    for (let i = from; i < to; i++) {
      const name = names[i % EXECUTORS];
      const fn = policies && i % 10 === 5 ? failing : i & 1 ? withSignal : noSignal;
      const result = i % 10 === 0 ? await ours.execute(name, fn, options[((i / EXECUTORS) | 0) % 50]) : await ours.execute(name, fn);
      if (!result.success && fn !== failing) throw new Error(`call ${i} failed: ${result.error}`);
    }
  }
  const WARM = 200_000;
  await run(0, WARM); // every breaker, cache entry and compiled path exists
  const before = await heapUsed();
  // Heap at four checkpoints, so a slow leak shows as a slope, not only as one difference.
  const checkpoints = [];
  let ms = 0;
  for (let part = 1; part <= 4; part++) {
    const t0 = process.hrtime.bigint();
    await run(WARM + ((part - 1) * CALLS) / 4, WARM + (part * CALLS) / 4);
    ms += Number(process.hrtime.bigint() - t0) / 1e6;
    checkpoints.push(await heapUsed());
  }
  const after = checkpoints.at(-1);
  const stats = ours.getStats(names[0]);
  process.stdout.write(
    JSON.stringify({
      mode,
      calls: CALLS,
      executors: EXECUTORS,
      before,
      after,
      delta: after - before,
      checkpoints,
      growth: Math.max(...checkpoints) - before,
      perCall: (after - before) / CALLS,
      ms,
      policies,
      sample: { successful: stats.successfulRequests, failed: stats.failedRequests, state: stats.state },
    }) + '\n',
  );
  ours.destroy();
} else {
  console.error('usage: heap-child.mjs breakers <lib> [N] | calls [CALLS]');
  process.exit(2);
}
