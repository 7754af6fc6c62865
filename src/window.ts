/**
 * The sliding failure window: "have `threshold` failures happened within the last `span` ms?"
 *
 * The failure times are kept oldest first in a queue. Recording a failure first drops the
 * ones that have aged out of the span, then the oldest beyond `threshold` (they can no
 * longer matter), so the queue never holds more than `threshold` times and never more
 * than the failures of the last `span` ms: memory is O(threshold) at worst, nothing for a
 * healthy service, and recording is O(1) amortised. Successes are not recorded: they do
 * not erase failures that are still inside the span.
 */
export class FailureWindow {
  #times: number[] = [];
  /** Index of the oldest time still kept; the ones before it are dropped lazily. */
  #head = 0;
  #threshold: number;
  #span: number;

  constructor(threshold: number, span: number) {
    this.#threshold = threshold;
    this.#span = span;
  }

  /** Records a failure at `now`; returns true when the window has reached the threshold. */
  record(now: number): boolean {
    const times = this.#times;
    times.push(now);
    return this.#trim(now) >= this.#threshold;
  }

  /** Forgets every failure. */
  clear(): void {
    this.#times = [];
    this.#head = 0;
  }

  /** Applies a new threshold and span, keeping the most recent failures that still fit. */
  resize(threshold: number, span: number): void {
    this.#threshold = threshold;
    this.#span = span;
    const times = this.#times;
    if (times.length > this.#head) this.#trim(times[times.length - 1]!);
  }

  /** Drops what can no longer count at `now` and returns how many failures remain. */
  #trim(now: number): number {
    const times = this.#times;
    let head = this.#head;
    // A failure at time f counts while now - f < span.
    while (head < times.length && now - times[head]! >= this.#span) head++;
    if (times.length - head > this.#threshold) head = times.length - this.#threshold;
    if (head > 32 && head * 2 > times.length) {
      times.splice(0, head);
      head = 0;
    }
    this.#head = head;
    return times.length - head;
  }
}
