// executor-circuit-breaker against opossum and cockatiel: `npm run bench`.
//
// Scenarios 1-4 are timed here, in one process, side by side and interleaved (see
// harness.mjs). Scenario 5 counts timers in a child process (it needs async_hooks);
// scenarios 6 and 7 measure the heap in child processes started with --expose-gc.
//
// Environment:
//   BENCH_QUICK=1        a smoke run of a few seconds (few rounds, small batches and heaps)
//   BENCH_ROUNDS=n       interleaved rounds per timed scenario (default 41)
//   BENCH_BATCH_MS=ms    target duration of one contender's batch (default 20)
//   BENCH_BEFORE=file    another build's dist/index.js (say, of the previous commit), timed
//                        beside ours in scenarios 1-3 as "before": an A/B in the same run

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { QUICK, SETTINGS, fmtNs, fmtRatio, machine, median, runScenario, table, timingTable, wrap } from './harness.mjs';
import { loadBefore, loadCockatiel, loadOpossum, loadOurs } from './load.mjs';
import * as composition from './scenarios/composition.mjs';
import * as dashboard from './scenarios/dashboard.mjs';
import * as failure from './scenarios/failure.mjs';
import * as rejection from './scenarios/rejection.mjs';
import * as signal from './scenarios/signal.mjs';
import * as success from './scenarios/success.mjs';

const wallStart = process.hrtime.bigint();
const elapsedS = () => Number(process.hrtime.bigint() - wallStart) / 1e9;
const run = promisify(execFile);
const here = (file) => fileURLToPath(new URL(file, import.meta.url));

const HEAP_BREAKERS = Number(process.env.BENCH_BREAKERS) || (QUICK ? 2_000 : 10_000);
const HEAP_REPEATS = QUICK ? 1 : 3;
const HEAP_CALLS = QUICK ? 100_000 : 1_000_000;
const FLAT_BYTES = 256 * 1024;

/** Runs a child script and returns the JSON object it prints last. */
async function child(script, args, { gc = false, env = {} } = {}) {
  const { stdout } = await run(process.execPath, [...(gc ? ['--expose-gc'] : []), here(script), ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = stdout.trim().split('\n').at(-1);
  return JSON.parse(last);
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
const signed = (text, value) => (value > 0 ? `+${text}` : text);

// ---- header -----------------------------------------------------------------------------

const ours = await loadOurs();
const CircuitBreaker = loadOpossum();
const cockatiel = await loadCockatiel();
const before = await loadBefore();
const libs = { ours, CircuitBreaker, cockatiel, before };

const m = machine();
console.log('executor-circuit-breaker benchmark: ours vs opossum 10 and cockatiel 4');
console.log(`machine: ${m.cpu}, ${m.nproc} CPUs (nproc), ${m.memGiB} GiB RAM, ${m.platform}`);
console.log(`node ${m.node} (V8 ${m.v8})${QUICK ? ', BENCH_QUICK=1 (smoke run, numbers are rough)' : ''}`);
if (before) console.log(`before: ${process.env.BENCH_BEFORE}`);
console.log(wrap(
  `timed scenarios: ${SETTINGS.rounds} interleaved rounds, batches of ~${SETTINGS.batchMs} ms per contender; ` +
    'ns/call = median over rounds (min..max); overhead = median - the bare baseline median',
));

// ---- scenarios 1-4: timed, in process ------------------------------------------------------

const timed = {};
for (const [key, scenario] of Object.entries({ success, composition, dashboard, failure, rejection, signal })) {
  const s = await scenario.setup(libs);
  const results = await runScenario(s.contenders);
  const problem = s.check?.() ?? null;
  s.teardown();
  timed[key] = results;
  console.log(`\n${scenario.title}\n${wrap(scenario.note)}\n`);
  console.log(timingTable(results));
  if (problem) console.log(`WARNING: ${problem}: this scenario's numbers do not measure what they should`);
  if (key === 'dashboard') {
    const by = (id) => results.find((r) => r.id === id);
    const vs = (id) => `${fmtNs(by(id).overhead - by('none').overhead)} ns (${fmtRatio(by(id).overhead, by('none').overhead)})`;
    console.log(`\nadded to the success path's overhead: no page open ${vs('idle')}, one page open ${vs('watched')}`);
  }
}

// ---- scenario 5: timers with 10,000 calls in flight ----------------------------------------------

// The plain paths against the build before, in a process where no executor sets a new key.
const plainAB = before
  ? await child('ab.mjs', [], { env: QUICK ? { AB_ROUNDS: '5', AB_N: '2000' } : {} })
  : null;
if (plainAB) {
  console.log('\n1d. the plain paths against the build before, no new key set anywhere in the process (bench/ab.mjs)');
  console.log(wrap('CPU time of the process (process.cpuUsage), median over interleaved rounds; overhead over the bare await of the same fn'));
  console.log('');
  console.log(
    table(
      ['path', 'bare ns', 'ours overhead ns', 'before overhead ns', 'ours / before'],
      plainAB.results.map((r) => [r.path, fmtNs(r.bare), fmtNs(r.ours), fmtNs(r.before), fmtRatio(r.ours, r.before)]),
      'lrrrr',
    ),
  );
}
const timers = await child('timers-child.mjs', [], { env: QUICK ? { BENCH_INFLIGHT: '2000' } : {} });
const inflightCalls = timers.inflight[0].calls;
console.log(`\n5. ${inflightCalls.toLocaleString('en-US')} concurrent in-flight calls with timeouts: timers`);
console.log(wrap(
  'fn returns a promise settled only after every call has started; live = Timeout resources not yet ' +
    "fired or cleared (async_hooks, sees unref'd timers), ref'd = 'Timeout' in process.getActiveResourcesInfo(); " +
    'counted after a few loop turns. Run in a child process (async_hooks slows promises).',
) + '\n');
console.log(
  table(
    ['contender', 'executors', 'timers created', 'live: idle', 'in flight', 'settled', "ref'd in flight"],
    timers.inflight.map((r) => [
      r.label,
      r.executors,
      r.timersCreated.toLocaleString('en-US'),
      r.idle.live,
      r.during.live.toLocaleString('en-US'),
      r.after.live,
      r.during.refed.toLocaleString('en-US'),
    ]),
    'lrrrrrr',
  ),
);
for (const r of timers.inflight) {
  if (r.failed) console.log(`WARNING: ${r.label}: ${r.failed} calls failed`);
}

// ---- scenario 6: retained heap per breaker ------------------------------------------------------

const heapLibs = ['ours', 'ours+policies', 'opossum', 'cockatiel', 'cockatiel+timeout'];
const heapSamples = Object.fromEntries(heapLibs.map((lib) => [lib, []]));
for (let rep = 0; rep < HEAP_REPEATS; rep++) {
  // Interleaved too: one process per library per repeat.
  for (const lib of heapLibs) {
    const r = await child('heap-child.mjs', ['breakers', lib, String(HEAP_BREAKERS)], { gc: true });
    heapSamples[lib].push(r.perBreaker);
  }
}
const heap = Object.fromEntries(
  heapLibs.map((lib) => {
    const s = heapSamples[lib];
    return [lib, { median: median(s), min: Math.min(...s), max: Math.max(...s) }];
  }),
);
const idleOf = (lib) => timers.idle.find((r) => r.label === lib);
console.log(
  `\n6. retained heap per breaker after one successful call (${HEAP_BREAKERS.toLocaleString('en-US')} breakers, ` +
    `${HEAP_REPEATS} process${HEAP_REPEATS > 1 ? 'es' : ''} per library)`,
);
console.log(wrap(
  'heapUsed after global.gc() (node --expose-gc), after minus before / breakers; idle timers per breaker ' +
    `from ${timers.idle[0].breakers.toLocaleString('en-US')} breakers in the timers child.`,
) + '\n');
console.log(
  table(
    ['contender', 'bytes/breaker', 'min..max', 'live timers/breaker', "ref'd timers/breaker", 'ours / this'],
    heapLibs.map((lib) => [
      lib,
      Math.round(heap[lib].median).toLocaleString('en-US'),
      `${Math.round(heap[lib].min).toLocaleString('en-US')}..${Math.round(heap[lib].max).toLocaleString('en-US')}`,
      idleOf(lib)?.livePerBreaker.toFixed(2) ?? '-',
      idleOf(lib)?.refedPerBreaker.toFixed(2) ?? '-',
      lib === 'ours' ? '-' : fmtRatio(heap.ours.median, heap[lib].median),
    ]),
    'lrrrrr',
  ),
);

// ---- scenario 7: heap after 1e6 calls ---------------------------------------------------------------

const calls = await child('heap-child.mjs', ['calls', String(HEAP_CALLS)], { gc: true });
const policyCalls = await child('heap-child.mjs', ['calls', String(HEAP_CALLS), 'policies'], { gc: true });
console.log(
  `\n7. heap before and after ${calls.calls.toLocaleString('en-US')} calls across ${calls.executors} executors (ours, default config)`,
);
console.log(wrap(
  'after 200,000 warm-up calls; sequential awaits; fn with and without the signal alternating, a new value ' +
    'every call, one call in ten with one of 50 cacheKeys per executor. heapUsed after global.gc().',
) + '\n');
const quarter = (calls.calls / 4).toLocaleString('en-US');
console.log(
  table(
    ['heap', 'before', `+${quarter}`, '+half', `+three quarters`, `+${calls.calls.toLocaleString('en-US')}`],
    [
      ['heapUsed', mib(calls.before), ...calls.checkpoints.map(mib)],
      ['change', '-', ...calls.checkpoints.map((h) => signed(kib(h - calls.before), h - calls.before))],
      ['policies on: heapUsed', mib(policyCalls.before), ...policyCalls.checkpoints.map(mib)],
      ['policies on: change', '-', ...policyCalls.checkpoints.map((h) => signed(kib(h - policyCalls.before), h - policyCalls.before))],
    ],
    'lrrrrr',
  ),
);
console.log(
  `\nlargest growth over the run ${signed(kib(calls.growth), calls.growth)}; ` +
    `end minus start ${(calls.perCall).toFixed(3)} bytes/call; ${fmtNs((calls.ms * 1e6) / calls.calls)} ns/call`,
);
console.log(
  `policies on (isFailure, failureRateThreshold 0.5, slowCallDuration 1 s, one failure in ten): largest growth ` +
    `${signed(kib(policyCalls.growth), policyCalls.growth)}; ${fmtNs((policyCalls.ms * 1e6) / policyCalls.calls)} ns/call`,
);

// ---- targets ---------------------------------------------------------------------------------------

const get = (scenario, id) => timed[scenario].find((r) => r.id === id);
const verdict = (ok) => (ok ? 'MET' : 'NOT MET');
const targets = [];
const ratioOf = (scenario, a, b) => get(scenario, a).median / get(scenario, b).median;
// An 'info' row is a figure to read, not a goal: it says whether the cost stayed within noise.
const target = (name, measured, ok, kind = 'target') =>
  targets.push([kind, name, measured, kind === 'info' ? (ok ? 'same' : 'slower') : verdict(ok)]);
/** Target on the ratio of two overheads of one timed scenario. */
function overheadTarget(kind, name, scenario, mine, theirs, limit) {
  const a = get(scenario, mine).overhead;
  const b = get(scenario, theirs).overhead;
  target(name, `${fmtRatio(a, b)} (${fmtNs(a)} vs ${fmtNs(b)} ns)`, b > 0 && a / b <= limit, kind);
}

overheadTarget('target', 'success, closure per call <= 1/5 of opossum default', 'success', 'ours-fresh', 'opossum', 1 / 5);
overheadTarget('target', 'success, stable fn <= 1/6 of opossum default', 'success', 'ours', 'opossum', 1 / 6);
overheadTarget('aim', 'success overhead <= cockatiel breaker alone', 'success', 'ours', 'cockatiel', 1);
overheadTarget('target', 'rejection (cache off) <= 1/50 of opossum open', 'rejection', 'ours', 'opossum', 1 / 50);
overheadTarget('target', 'rejection (cache on) <= 1/10 of opossum open + fallback', 'rejection', 'ours-cache', 'opossum-fb', 1 / 10);
overheadTarget('target', 'failure overhead <= 1/2 of cockatiel breaker', 'failure', 'ours', 'cockatiel', 1 / 2);
overheadTarget('target', 'success, dashboard attached, no page: <= 1.1x no dashboard', 'dashboard', 'idle', 'none', 1.1);
overheadTarget('target', 'success overhead, isFailure + rate + slow-call rules on, < 1/2 of opossum default', 'success', 'ours-policies', 'opossum', 1 / 2);
if (before) {
  // No new key set: the same cost as the build before, within noise (10% of the overhead or
  // 10 ns). Judged in a process of its own where no executor sets a new key (bench/ab.mjs);
  // the rows from this process, where other executors use the bulkhead, retry, fallback and
  // the outcome rules through the same code, are shown beside them.
  for (const r of plainAB.results) {
    target(
      `${r.path}: costs what it did before (no new key set in the process)`,
      `${fmtRatio(r.ours, r.before)} (${fmtNs(r.ours)} vs ${fmtNs(r.before)} ns, CPU time)`,
      r.ours <= r.before * 1.1 || r.ours - r.before <= 10,
      'check',
    );
  }
  const paths = [
    ['success', 'ours'],
    ['success', 'ours-fresh'],
    ['success', 'ours-no-timeout'],
    ['failure', 'ours'],
    ['rejection', 'ours'],
    ['rejection', 'ours-cache'],
  ];
  for (const [scenario, id] of paths) {
    const a = get(scenario, id).overhead;
    const b = get(scenario, `before-${id}`).overhead;
    target(
      `${scenario} (${id}) against before, policies used by other executors here`,
      `${fmtRatio(a, b)} (${fmtNs(a)} vs ${fmtNs(b)} ns)`,
      a <= b * 1.1 || a - b <= 10,
      'info',
    );
  }
}
{
  const mine = timers.inflight.filter((r) => r.label.startsWith('ours'));
  const ok = mine.every(
    (r) => r.timersCreated <= r.executors && r.during.live - r.idle.live <= r.executors && r.after.live <= r.idle.live,
  );
  const text = mine.map((r) => `${r.during.live - r.idle.live} for ${r.executors}`).join(', ');
  target(`no timer per call (${inflightCalls.toLocaleString('en-US')} in flight: <= 1 timer per executor)`, `live timers per executors: ${text}`, ok);
}
{
  const bytes = (lib) => Math.round(heap[lib].median).toLocaleString('en-US');
  const ours = heap.ours.median;
  target('heap per breaker <= 1/3 of opossum', `${fmtRatio(ours, heap.opossum.median)} (${bytes('ours')} vs ${bytes('opossum')} B)`, ours <= heap.opossum.median / 3);
  target('heap per breaker <= cockatiel breaker', `${fmtRatio(ours, heap.cockatiel.median)} (${bytes('ours')} vs ${bytes('cockatiel')} B)`, ours <= heap.cockatiel.median, 'aim');
  const extra = heap['ours+policies'].median - ours;
  target('rate window per breaker bounded (< 1 KiB more than default)', `+${Math.round(extra)} B per breaker`, extra < 1024);
}
target(
  `heap flat over ${calls.calls.toLocaleString('en-US')} calls with the policies on (growth < ${FLAT_BYTES / 1024} KiB)`,
  `largest growth ${signed(kib(policyCalls.growth), policyCalls.growth)}`,
  policyCalls.growth < FLAT_BYTES,
);
target(
  `heap flat over ${calls.calls.toLocaleString('en-US')} calls (growth < ${FLAT_BYTES / 1024} KiB)`,
  `largest growth ${signed(kib(calls.growth), calls.growth)}`,
  calls.growth < FLAT_BYTES,
);
const wall = elapsedS();
target('npm run bench under 3 minutes', `${wall.toFixed(1)} s (this script; tsup adds a few s)`, wall < 180);

console.log('\ntargets (ratio = our overhead / peer overhead, same run)\n');
console.log(table(['kind', 'target', 'measured', 'result'], targets, 'llll'));
console.log(`\ntotal ${wall.toFixed(1)} s`);
