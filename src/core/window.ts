/**
 * The sliding failure window: "have `threshold` failures happened within the last `span` ms?"
 *
 * Failure times are kept oldest first, with failures at the same instant kept as one entry
 * and a count. Recording a failure first drops what has aged out of the span, then the
 * oldest failures beyond `threshold` (they can no longer matter). So the window holds at
 * most `threshold` entries, and at most one per clock tick of the last `span` ms, whatever
 * the traffic: nothing at all for a healthy service, and recording is O(1) amortised.
 * Successes are not recorded: they do not erase failures that are still inside the span.
 */
export class FailureWindow {
  #times: number[] = [];
  #counts: number[] = [];
  /** Index of the oldest entry still kept; the ones before it are dropped lazily. */
  #head = 0;
  /** Failures in the kept entries. */
  #total = 0;
  #threshold: number;
  #span: number;

  constructor(threshold: number, span: number) {
    this.#threshold = threshold;
    this.#span = span;
  }

  /** Records a failure at `now`; returns true when the window has reached the threshold. */
  record(now: number): boolean {
    const times = this.#times;
    const last = times.length - 1;
    if (last >= this.#head && times[last] === now) this.#counts[last]!++;
    else {
      times.push(now);
      this.#counts.push(1);
    }
    this.#total++;
    this.#trim(now);
    return this.#total >= this.#threshold;
  }

  /** Forgets every failure. */
  clear(): void {
    this.#times = [];
    this.#counts = [];
    this.#head = 0;
    this.#total = 0;
  }

  /**
   * Applies a new threshold and span at `now`. What has aged out under the old span stays
   * out (widening never brings a failure back); of the rest, the most recent that fit are
   * kept.
   */
  resize(threshold: number, span: number, now: number): void {
    this.#trim(now);
    this.#threshold = threshold;
    this.#span = span;
    this.#trim(now);
  }

  /** Drops the failures that can no longer count at `now`. */
  #trim(now: number): void {
    const times = this.#times;
    const counts = this.#counts;
    let head = this.#head;
    // A failure at time f counts while now - f < span.
    while (head < times.length && now - times[head]! >= this.#span) this.#total -= counts[head++]!;
    while (this.#total > this.#threshold) {
      const excess = this.#total - this.#threshold;
      if (counts[head]! > excess) {
        counts[head]! -= excess;
        this.#total -= excess;
      } else {
        this.#total -= counts[head++]!;
      }
    }
    if (head > 32 && head * 2 > times.length) {
      times.splice(0, head);
      counts.splice(0, head);
      head = 0;
    }
    this.#head = head;
  }

  /**
   * The entries kept: one per distinct failure time still counted. It exists for the tests
   * of the memory bound (at most `threshold` entries, and one per instant).
   */
  get entries(): number {
    return this.#times.length - this.#head;
  }

  /**
   * The length of the backing arrays, counting the dropped entries not yet compacted away.
   * It exists for the tests of the memory bound (the arrays stay bounded over a long run).
   */
  get capacity(): number {
    return this.#times.length;
  }
}
