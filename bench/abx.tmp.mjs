// An A/B of this build against another on the paths that must not get slower: success,
// failure (circuit held closed), rejection with the cache off and on.
//
//   BENCH_BEFORE=/tmp/before/dist/index.js node bench/ab.mjs [policies]
//
// Timed by the process's CPU time (process.cpuUsage) rather than the wall clock: on a
// machine shared with other busy processes, time spent descheduled is not counted. Rounds
// interleave the contenders in a rotating order; the figure is the median ns/call over
// rounds, the overhead is over the bare await of the same fn. `policies` first runs 20,000
// calls through an executor with isFailure and the rate rules on, so that the code shared by
// every breaker has seen them. Run it against a copy of this very build first (an A/A) to
// see the noise of the day. AB_ROUNDS and AB_N set rounds (31) and calls per batch (20,000).
const loadOurs = () => import(process.env.A); const loadBefore = () => import(process.env.B);
const ours = await loadOurs();
const before = await loadBefore();
const ERR = new Error('boom');
const failing = async () => { throw ERR; };
const fn = async () => 1;
for (const lib of [ours, before]) {
  lib.configure('f', { failureThreshold: 1e9 });
  lib.configure('r', { cacheFallback: false });
  lib.openCircuit('r');
  lib.configure('rc', {});
  await lib.execute('rc', fn);
  lib.openCircuit('rc');
}
if (process.argv[2] === 'policies') {
  ours.configure('p', { isFailure: () => true, failureRateThreshold: 0.5, slowCallDuration: 1000 });
  for (let i = 0; i < 20000; i++) await ours.execute('p', i % 3 ? fn : failing);
}
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
function loop() {
  return new Function('cpu', `return async function (op, n) { const t0 = cpu(); for (let i = 0; i < n; i++) { try { await op(); } catch {} } const d = cpu(t0); return (d.user + d.system) * 1000 / n; }`)(
    (prev) => process.cpuUsage(prev),
  );
}
const scenarios = {
  success: [['bare', fn], ['ours', () => ours.execute('s', fn)], ['before', () => before.execute('s', fn)]],
  failure: [['bare', failing], ['ours', () => ours.execute('f', failing)], ['before', () => before.execute('f', failing)]],
  rejection: [['bare', fn], ['ours', () => ours.execute('r', fn)], ['before', () => before.execute('r', fn)]],
  'rejection+cache': [['bare', fn], ['ours', () => ours.execute('rc', fn)], ['before', () => before.execute('rc', fn)]],
};
const ROUNDS = Number(process.env.AB_ROUNDS ?? 31);
const N = Number(process.env.AB_N ?? 20000);
for (const [title, cs] of Object.entries(scenarios)) {
  const loops = cs.map(() => loop());
  for (let w = 0; w < 3; w++) for (let i = 0; i < cs.length; i++) await loops[i](cs[i][1], 5000);
  const samples = cs.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < cs.length; k++) {
      const i = (k + r) % cs.length;
      await new Promise((res) => setImmediate(res));
      samples[i].push(await loops[i](cs[i][1], N));
    }
  }
  const med = samples.map(median);
  const over = (i) => med[i] - med[0];
  console.log(`${title}: bare ${med[0].toFixed(0)} ns; overhead ours ${over(1).toFixed(0)} ns, before ${over(2).toFixed(0)} ns, ratio ${(over(1) / over(2)).toFixed(2)}`);
}
