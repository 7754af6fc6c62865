// Timing, interleaving and reporting.
//
// A contender is an `op` returning a promise. Its batch is a loop of `n` sequential
// `await op()` timed with process.hrtime.bigint(). Each round runs one batch of every
// contender of a scenario in a rotating order. Before each batch it yields to the event
// loop (so timers and immediates that the libraries scheduled run outside the timed loops)
// and collects the young generation (so every batch starts from the same empty nursery).
// The result of a contender is the median ns/call over the rounds, with the min..max.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';

const hr = process.hrtime.bigint;

/** One loop turn: lets setImmediate callbacks (and timers that are due) run. */
export const tick = () => new Promise((resolve) => setImmediate(resolve));

export const QUICK = process.env.BENCH_QUICK === '1';

// A young-generation GC before every batch, so that the garbage one contender leaves
// behind is not collected on the next one's time. (`node --expose-gc` without the flag on
// the command line: the flag is set at run time and `gc` read from a fresh context.)
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const collectYoung = () => gc({ type: 'minor' });

/** Rounds per scenario and target duration of one batch, adjustable from the environment. */
export const SETTINGS = {
  rounds: Number(process.env.BENCH_ROUNDS) || (QUICK ? 4 : 41),
  batchMs: Number(process.env.BENCH_BATCH_MS) || (QUICK ? 3 : 20),
  warmupPasses: QUICK ? 2 : 4,
  minBatch: QUICK ? 500 : 1_000,
  maxBatch: 1_000_000,
};

/**
 * A fresh copy of the timed loop for every contender: functions compiled from separate
 * sources keep separate type feedback, so the `await op()` call site stays monomorphic for
 * each contender instead of becoming megamorphic across all of them. The try/catch is in
 * every copy (it costs nothing when nothing throws) so that peers which reject on failure
 * and the baseline of a failing fn run the very same loop.
 */
function makeLoop(id) {
  // The comment makes every source distinct, so V8 cannot share anything between copies.
  return new Function(
    'hr',
    `/* contender ${JSON.stringify(id)} */
     return async function timedLoop(op, n) {
       const t0 = hr();
       for (let i = 0; i < n; i++) {
         try { await op(); } catch {}
       }
       return Number(hr() - t0);
     };`,
  )(hr);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs one scenario.
 *
 * contenders: [{ id, label, op, kind: 'baseline' | 'ours' | 'peer', baseline?: id, short?: string }]
 * A contender's overhead is its median minus the median of its baseline.
 */
export async function runScenario(contenders, settings = SETTINGS) {
  const loops = new Map(contenders.map((c) => [c.id, makeLoop(c.id)]));

  // Warm-up, interleaved so shared code sees every contender before anything is timed.
  for (let pass = 0; pass < settings.warmupPasses; pass++) {
    for (const c of contenders) {
      await loops.get(c.id)(c.op, 2_000);
      await tick();
    }
  }
  // Calibrate: a batch of each contender lasts about batchMs.
  const batch = new Map();
  for (const c of contenders) {
    const n = 2_000;
    const ns = (await loops.get(c.id)(c.op, n)) / n;
    const want = Math.round((settings.batchMs * 1e6) / Math.max(ns, 1));
    batch.set(c.id, Math.max(settings.minBatch, Math.min(settings.maxBatch, want)));
    await tick();
  }

  const samples = new Map(contenders.map((c) => [c.id, []]));
  for (let round = 0; round < settings.rounds; round++) {
    // Rotate the order, and reverse it every other round, so no contender always follows
    // the same one (a GC left over by an allocating contender lands on all of them alike).
    const k = round % contenders.length;
    let order = [...contenders.slice(k), ...contenders.slice(0, k)];
    if (round % 2 === 1) order = order.reverse();
    for (const c of order) {
      const n = batch.get(c.id);
      await tick();
      collectYoung();
      const ns = await loops.get(c.id)(c.op, n);
      samples.get(c.id).push(ns / n);
    }
  }

  const results = contenders.map((c) => {
    const s = samples.get(c.id);
    return {
      ...c,
      op: undefined,
      batch: batch.get(c.id),
      median: median(s),
      min: Math.min(...s),
      max: Math.max(...s),
      samples: s,
    };
  });
  const byId = new Map(results.map((r) => [r.id, r]));
  for (const r of results) {
    r.overhead = r.kind === 'baseline' ? 0 : r.median - byId.get(r.baseline ?? 'bare').median;
  }
  return results;
}

// ---- formatting -------------------------------------------------------------------------

export const fmtNs = (ns) => (Math.abs(ns) >= 100 ? Math.round(ns).toLocaleString('en-US') : ns.toFixed(1));

export function fmtRatio(mine, theirs) {
  if (!(theirs > 0)) return 'n/a';
  const r = mine / theirs;
  return `${r < 0.095 ? r.toFixed(3) : r.toFixed(2)}x`;
}

/** Wraps prose at `width` columns. */
export function wrap(text, width = 100) {
  const lines = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

/** Aligned plain-text table; `align` is a string of 'l' / 'r' per column. */
export function table(header, rows, align) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((cell, i) => (align[i] === 'r' ? String(cell).padStart(widths[i]) : String(cell).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The table of a timed scenario: one row per contender, ratios for ours against each peer. */
export function timingTable(results) {
  const peers = results.filter((r) => r.kind === 'peer');
  const rows = results.map((r) => [
    r.label,
    fmtNs(r.median),
    `${fmtNs(r.min)}..${fmtNs(r.max)}`,
    r.kind === 'baseline' ? '-' : fmtNs(r.overhead),
    r.kind === 'ours' ? peers.map((p) => `${fmtRatio(r.overhead, p.overhead)} ${p.short}`).join(', ') : '',
  ]);
  return table(
    ['contender', 'median ns/call', 'min..max', 'overhead ns', 'our overhead / peer overhead'],
    rows,
    'lrrrl',
  );
}

// ---- the machine ------------------------------------------------------------------------

export function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.*)$/m.exec(info)?.[1] ?? cpu;
    const mhz = /^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1];
    if (mhz) cpu += ` @ ${Math.round(Number(mhz))} MHz`;
  } catch {}
  let nproc = os.availableParallelism?.() ?? os.cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {}
  return {
    cpu: cpu.trim(),
    nproc,
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}
