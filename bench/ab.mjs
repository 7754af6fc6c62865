// An A/B of this build against another (BENCH_BEFORE) on the paths that must not get
// slower when none of the policy keys is set: success (the same fn, a new closure per
// call, requestTimeout Infinity), failure (circuit held closed), rejection with the cache
// off and on. `npm run bench` runs it as a child process whenever BENCH_BEFORE is set:
//
//   BENCH_BEFORE=/tmp/before/dist/index.js node bench/ab.mjs [policies]
//
// Its own process, because in the main benchmark the same code also serves executors with
// the bulkhead, retry, fallback and the outcome rules on; this one sets no new key at all,
// which is what "costs what it did before" is about. `policies` first runs 20,000 calls
// through an executor with isFailure and the rate rules on, to show what that sharing
// costs. Timed by the process's CPU time (process.cpuUsage) rather than the wall clock, so
// that time spent descheduled on a shared machine is not counted. Rounds interleave the
// contenders in a rotating order; the figure is the median ns/call over rounds, the
// overhead is over the bare await of the same fn. Run it against a copy of this very
// build first (an A/A) to see the noise of the day. AB_ROUNDS and AB_N set rounds (31) and
// calls per batch (20,000). The last line printed is the figures as JSON.
import { median } from './harness.mjs';
import { loadBefore, loadOurs } from './load.mjs';

const ours = await loadOurs();
const before = await loadBefore();
if (!before) throw new Error('bench/ab.mjs: set BENCH_BEFORE to the dist/index.js of another build');
const ERR = new Error('boom');
const failing = async () => {
  throw ERR;
};
const fn = async () => 1;
for (const lib of [ours, before]) {
  lib.configure('f', { failureThreshold: 1e9 });
  lib.configure('n', { requestTimeout: Infinity });
  lib.configure('r', { cacheFallback: false });
  lib.openCircuit('r');
  lib.configure('rc', {});
  await lib.execute('rc', fn);
  lib.openCircuit('rc');
}
const policies = process.argv[2] === 'policies';
if (policies) {
  ours.configure('p', { isFailure: () => true, failureRateThreshold: 0.5, slowCallDuration: 1000 });
  for (let i = 0; i < 20000; i++) await ours.execute('p', i % 3 ? fn : failing);
}
// One loop function per contender, each compiled on its own, so that no contender's
// feedback shapes another's code.
function loop() {
  return new Function(
    'cpu',
    'return async function (op, n) { const t0 = cpu(); for (let i = 0; i < n; i++) { try { await op(); } catch {} } const d = cpu(t0); return (d.user + d.system) * 1000 / n; }',
  )((prev) => process.cpuUsage(prev));
}
const pair = (call) => [
  ['ours', () => call(ours)],
  ['before', () => call(before)],
];
const scenarios = {
  success: [['bare', fn], ...pair((lib) => lib.execute('s', fn))],
  'success, closure per call': [['bare', fn], ...pair((lib) => lib.execute('s', async () => 1))],
  'success, requestTimeout Infinity': [['bare', fn], ...pair((lib) => lib.execute('n', fn))],
  failure: [['bare', failing], ...pair((lib) => lib.execute('f', failing))],
  'rejection, cache off': [['bare', fn], ...pair((lib) => lib.execute('r', fn))],
  'rejection, cache on': [['bare', fn], ...pair((lib) => lib.execute('rc', fn))],
};
const ROUNDS = Number(process.env.AB_ROUNDS ?? 31);
const N = Number(process.env.AB_N ?? 20000);
const results = [];
for (const [title, cs] of Object.entries(scenarios)) {
  const loops = cs.map(() => loop());
  for (let w = 0; w < 3; w++) for (let i = 0; i < cs.length; i++) await loops[i](cs[i][1], Math.min(N, 5000));
  const samples = cs.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < cs.length; k++) {
      const i = (k + r) % cs.length;
      await new Promise((res) => setImmediate(res));
      samples[i].push(await loops[i](cs[i][1], N));
    }
  }
  const med = samples.map(median);
  const result = { path: title, bare: med[0], ours: med[1] - med[0], before: med[2] - med[0] };
  results.push(result);
  console.log(
    `${title}: bare ${result.bare.toFixed(0)} ns; overhead ours ${result.ours.toFixed(0)} ns, ` +
      `before ${result.before.toFixed(0)} ns, ratio ${(result.ours / result.before).toFixed(2)}`,
  );
}
console.log(JSON.stringify({ policies, rounds: ROUNDS, n: N, results }));
