/**
 * The sliding failure window: "have `threshold` failures happened within the last `span` ms?"
 *
 * Only the times of the last `threshold` failures can matter, so they are kept in a ring
 * of that size: memory is O(threshold) whatever the traffic, and recording is O(1). The
 * circuit should open exactly when the oldest of those failures is still inside the span.
 * Successes are not recorded: they do not erase failures that are still inside the span.
 */
export class FailureWindow {
  /** Failure times, oldest at `#next` once the ring is full; made on the first failure. */
  #times: number[] | null = null;
  #next = 0;
  #count = 0;
  #threshold: number;
  #span: number;

  constructor(threshold: number, span: number) {
    this.#threshold = threshold;
    this.#span = span;
  }

  /** Records a failure at `now`; returns true when the window has reached the threshold. */
  record(now: number): boolean {
    const threshold = this.#threshold;
    const times = (this.#times ??= new Array<number>(threshold).fill(0));
    times[this.#next] = now;
    this.#next = this.#next + 1 === threshold ? 0 : this.#next + 1;
    if (this.#count < threshold) this.#count++;
    // A failure at time f counts while now - f < span.
    return this.#count === threshold && now - times[this.#next]! < this.#span;
  }

  /** Forgets every failure. */
  clear(): void {
    this.#next = 0;
    this.#count = 0;
  }

  /** Applies a new threshold and span, keeping the most recent failures that still fit. */
  resize(threshold: number, span: number): void {
    this.#span = span;
    if (threshold === this.#threshold) return;
    const kept = this.#ordered().slice(-threshold);
    this.#threshold = threshold;
    this.#times = null;
    this.#next = 0;
    this.#count = 0;
    for (const t of kept) this.record(t);
  }

  /** The recorded failure times, oldest first. */
  #ordered(): number[] {
    const times = this.#times;
    if (!times) return [];
    const start = this.#count === this.#threshold ? this.#next : 0;
    const out: number[] = [];
    for (let i = 0; i < this.#count; i++) out.push(times[(start + i) % this.#threshold]!);
    return out;
  }
}
