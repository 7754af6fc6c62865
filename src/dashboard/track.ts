/**
 * What the dashboard remembers about one executor: its state over the last 15 minutes, the
 * per-interval counts of the last 5 minutes, and a small latency histogram of the last
 * minute. Every method takes the time from its caller, so the figures follow whatever clock
 * drives the dashboard and tests can give times directly.
 */
import { CircuitState, type CircuitBreakerStats } from '../index.js';

/** How far back the state strip reaches. */
export const STRIP_MS = 15 * 60_000;
/** How far back the sparkline reaches. */
export const SPARK_MS = 5 * 60_000;
/** How far back the latency histogram and the one-minute figures reach. */
export const MINUTE_MS = 60_000;
/** The histogram is kept in slots of this length, the oldest dropped as time moves on. */
const SLOT_MS = 10_000;
const SLOTS = MINUTE_MS / SLOT_MS;
/** Bucket upper bounds of the latency histogram, in ms; a last bucket holds the rest. */
export const LATENCY_BOUNDS: readonly number[] = Object.freeze([
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000,
]);
/** At most this many state changes are kept per executor (a flapping circuit cannot grow memory). */
const MAX_TRANSITIONS = 256;
/** At most this many samples are kept per executor, whatever the update interval. */
const MAX_SAMPLES = 1_500;
/** Error messages shown on a card are cut to this length. */
const MAX_ERROR_CHARS = 200;

/** One update interval's counts: `[end time (ms), length (ms), requests, successes, failures, rejections, fallbacks]`. */
export type Sample = [number, number, number, number, number, number, number];

/** The counters a sample is the difference of. */
interface Counters {
  total: number;
  successful: number;
  failed: number;
  rejected: number;
}

class Slot {
  key = -1;
  readonly counts: number[] = new Array<number>(LATENCY_BOUNDS.length + 1).fill(0);
  n = 0;
  sum = 0;
  max = 0;

  clear(key: number): void {
    this.key = key;
    this.counts.fill(0);
    this.n = 0;
    this.sum = 0;
    this.max = 0;
  }
}

/** Latency figures of the last minute, in ms; null when no call succeeded in it. */
export interface Latency {
  /** Successful calls measured. */
  count: number;
  /** Their mean duration. */
  mean: number | null;
  /** The 95th percentile, interpolated within its histogram bucket (never above the slowest call). */
  p95: number | null;
}

/** One executor's remembered history. */
export class Track {
  /** `[time, state]` pairs, oldest first; the first may be older than the strip (the state at its start). */
  readonly transitions: [number | null, CircuitState][] = [];
  readonly samples: Sample[] = [];
  #last: Counters | null = null;
  #fallbacks = 0;
  #slots: Slot[] = Array.from({ length: SLOTS }, () => new Slot());
  #slot: Slot;
  lastError: { time: number; text: string } | null = null;

  constructor(stats: CircuitBreakerStats, now: number) {
    // Before the dashboard knew it, only the current state and since when are known, and
    // that every circuit starts CLOSED: so a circuit on its first opening was CLOSED before.
    if (stats.state !== CircuitState.CLOSED && stats.timesOpened === 1 && stats.timesClosed === 0) {
      this.transitions.push([null, CircuitState.CLOSED]);
    }
    this.transitions.push([stats.lastStateChange?.getTime() ?? null, stats.state]);
    const key = Math.floor(now / SLOT_MS);
    this.#slot = this.#slots[key % SLOTS]!;
    this.#slot.clear(key);
  }

  /** A state change. */
  transition(state: CircuitState, time: number): void {
    this.transitions.push([time, state]);
    // Keep the last change before the strip's start: it is the state the strip starts in.
    let drop = 0;
    while (drop + 1 < this.transitions.length && (this.transitions[drop + 1]![0] ?? 0) <= time - STRIP_MS) drop++;
    drop = Math.max(drop, this.transitions.length - MAX_TRANSITIONS);
    if (drop > 0) this.transitions.splice(0, drop);
  }

  /** A successful call's duration. */
  success(ms: number): void {
    const slot = this.#slot;
    let i = 0;
    while (i < LATENCY_BOUNDS.length && ms > LATENCY_BOUNDS[i]!) i++;
    slot.counts[i]!++;
    slot.n++;
    slot.sum += ms;
    if (ms > slot.max) slot.max = ms;
  }

  /** A rejected call answered from the fallback cache. */
  fallback(): void {
    this.#fallbacks++;
  }

  /** A failed call's error, kept as text for the card. */
  failure(error: Error, time: number): void {
    const text = `${error.name}: ${error.message}`;
    this.lastError = { time, text: text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS - 1)}…` : text };
  }

  /**
   * Starts counting from `stats` (after a pause, the calls made while nobody watched are not
   * put into one interval).
   */
  baseline(stats: CircuitBreakerStats): void {
    this.#last = counters(stats);
    this.#fallbacks = 0;
  }

  /** Closes one interval ending at `now`: a sample of the counters' differences since the last one. */
  sample(stats: CircuitBreakerStats, now: number, length: number): void {
    const current = counters(stats);
    const last = this.#last;
    this.#last = current;
    const fallbacks = this.#fallbacks;
    this.#fallbacks = 0;
    // A reset zeroes the counters: the interval then starts from zero.
    const from = last !== null && current.total >= last.total ? last : { total: 0, successful: 0, failed: 0, rejected: 0 };
    this.samples.push([
      now,
      length,
      current.total - from.total,
      current.successful - from.successful,
      current.failed - from.failed,
      current.rejected - from.rejected,
      Math.min(fallbacks, current.rejected - from.rejected),
    ]);
    let drop = 0;
    while (drop < this.samples.length && this.samples[drop]![0] <= now - SPARK_MS) drop++;
    drop = Math.max(drop, this.samples.length - MAX_SAMPLES);
    if (drop > 0) this.samples.splice(0, drop);
    this.#rotate(now);
  }

  /** Moves the histogram on to the slot of `now`, clearing it if it is a new one. */
  #rotate(now: number): void {
    const key = Math.floor(now / SLOT_MS);
    if (this.#slot.key === key) return;
    this.#slot = this.#slots[key % SLOTS]!;
    this.#slot.clear(key);
  }

  /** Latency of the successful calls of the last minute. */
  latency(now: number): Latency {
    const oldest = Math.floor(now / SLOT_MS) - SLOTS + 1;
    const counts = new Array<number>(LATENCY_BOUNDS.length + 1).fill(0);
    let n = 0;
    let sum = 0;
    let max = 0;
    for (const slot of this.#slots) {
      if (slot.key < oldest || slot.n === 0) continue;
      slot.counts.forEach((c, i) => (counts[i]! += c));
      n += slot.n;
      sum += slot.sum;
      if (slot.max > max) max = slot.max;
    }
    if (n === 0) return { count: 0, mean: null, p95: null };
    return { count: n, mean: sum / n, p95: Math.min(max, quantile(counts, n, 0.95)) };
  }
}

/** The `q` quantile of a histogram over {@link LATENCY_BOUNDS}, interpolated within its bucket. */
export function quantile(counts: readonly number[], n: number, q: number): number {
  const rank = q * n;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (c > 0 && seen + c >= rank) {
      const low = i === 0 ? 0 : LATENCY_BOUNDS[i - 1]!;
      const high = LATENCY_BOUNDS[i] ?? low;
      return low + ((high - low) * (rank - seen)) / c;
    }
    seen += c;
  }
  return LATENCY_BOUNDS.at(-1)!;
}

function counters(stats: CircuitBreakerStats): Counters {
  return {
    total: stats.totalRequests,
    successful: stats.successfulRequests,
    failed: stats.failedRequests,
    rejected: stats.rejectedRequests,
  };
}
