/**
 * The rate rules: "over the last `failureWindow`, what share of calls failed, and what
 * share were slow?"
 *
 * Calls are tallied in {@link BUCKETS} buckets, each a tenth of `failureWindow` wide and
 * aligned on the clock (bucket `floor(t / width)`); the window is the current bucket and the
 * nine before it. So memory is a fixed handful of numbers per breaker whatever the traffic,
 * recording is O(1), and the window moves in steps of a tenth of its span.
 *
 * Two tallies share the buckets:
 *   - completed calls and the failures among them, for `failureRateThreshold`;
 *   - calls seen and the slow ones among them, for `slowCallRateThreshold`. A call is seen
 *     once: when it passes `slowCallDuration` while still running (then it is slow), or
 *     when it completes, whichever comes first.
 */
import type { CircuitBreakerConfig } from '../core/types.js';

/** How many buckets a window is cut into. */
export const BUCKETS = 10;

// Per bucket: four tallies, and which bucket number it currently holds.
const COMPLETED = 0;
const FAILED = 1;
const SEEN = 2;
const SLOW = 3;
const FIELDS = 4;

/** Whether a configuration turns a rate rule on (and so needs a {@link RateWindow}). */
export function wantsRates(config: Readonly<CircuitBreakerConfig>): boolean {
  return config.failureRateThreshold !== undefined || config.slowCallDuration !== Infinity;
}

export class RateWindow {
  readonly #width: number;
  readonly #tallies = new Float64Array(BUCKETS * FIELDS);
  /** The bucket number each slot holds; -Infinity for none yet. */
  readonly #epochs = new Float64Array(BUCKETS).fill(-Infinity);
  /** The newest bucket number recorded into. */
  #current = -Infinity;
  /** Sums over the live buckets. */
  #completed = 0;
  #failed = 0;
  #seen = 0;
  #slow = 0;

  constructor(readonly span: number) {
    this.#width = span / BUCKETS;
  }

  /** A call completed at `now`; `slow` only matters if it was not already seen as slow. */
  complete(now: number, failed: boolean, seenAlready: boolean, slow: boolean): void {
    const at = this.#slot(now) * FIELDS;
    const t = this.#tallies;
    t[at + COMPLETED]!++;
    this.#completed++;
    if (failed) {
      t[at + FAILED]!++;
      this.#failed++;
    }
    if (!seenAlready) {
      t[at + SEEN]!++;
      this.#seen++;
      if (slow) {
        t[at + SLOW]!++;
        this.#slow++;
      }
    }
  }

  /** A call still running passed `slowCallDuration` at `now`. */
  markSlow(now: number): void {
    const at = this.#slot(now) * FIELDS;
    this.#tallies[at + SEEN]!++;
    this.#tallies[at + SLOW]!++;
    this.#seen++;
    this.#slow++;
  }

  /** Whether a rate rule of `config` says open, on what the window holds. */
  trips(config: Readonly<CircuitBreakerConfig>): boolean {
    const minimum = config.minimumRequests;
    const rate = config.failureRateThreshold;
    if (rate !== undefined && this.#completed >= minimum && this.#failed / this.#completed >= rate) return true;
    return (
      config.slowCallDuration !== Infinity && this.#seen >= minimum && this.#slow / this.#seen >= config.slowCallRateThreshold
    );
  }

  /** Forgets every call. */
  clear(): void {
    this.#tallies.fill(0);
    this.#epochs.fill(-Infinity);
    this.#current = -Infinity;
    this.#completed = this.#failed = this.#seen = this.#slow = 0;
  }

  /** The slot of the bucket holding `now`, after dropping the buckets that aged out. */
  #slot(now: number): number {
    const bucket = Math.floor(now / this.#width);
    if (bucket > this.#current) this.#advance(bucket);
    // A clock that stepped back lands in the newest bucket.
    const epoch = bucket < this.#current ? this.#current : bucket;
    return ((epoch % BUCKETS) + BUCKETS) % BUCKETS;
  }

  /** Moves the window so that `bucket` is its newest; at most BUCKETS slots are emptied. */
  #advance(bucket: number): void {
    const epochs = this.#epochs;
    const t = this.#tallies;
    const oldest = bucket - BUCKETS + 1;
    for (let slot = 0; slot < BUCKETS; slot++) {
      const epoch = epochs[slot]!;
      if (epoch !== -Infinity && epoch < oldest) {
        const at = slot * FIELDS;
        this.#completed -= t[at + COMPLETED]!;
        this.#failed -= t[at + FAILED]!;
        this.#seen -= t[at + SEEN]!;
        this.#slow -= t[at + SLOW]!;
        t[at + COMPLETED] = t[at + FAILED] = t[at + SEEN] = t[at + SLOW] = 0;
        epochs[slot] = -Infinity;
      }
    }
    const slot = ((bucket % BUCKETS) + BUCKETS) % BUCKETS;
    epochs[slot] = bucket;
    this.#current = bucket;
  }
}

/**
 * The moment a running call becomes slow, as an entry of its executor's deadline queue
 * (beside the call's own timeout, so no timer of its own).
 */
export class SlowWatch<C> {
  done = false;
  constructor(
    readonly call: C,
    /** start + slowCallDuration, on the registry's clock. */
    readonly deadline: number,
  ) {}
}
