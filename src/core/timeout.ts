/**
 * Deadlines of running calls, and the signal handed to `fn`.
 *
 * A timer per call would cost a `setTimeout` + `clearTimeout` pair on every call, most of
 * which finish long before their deadline. Instead each executor keeps its running calls
 * in one queue ordered by deadline, with at most one timer for the earliest. Calls of one
 * executor share one `requestTimeout` and start in order, so a new deadline almost always
 * goes at the end.
 *
 * Even that one timer is only armed a loop turn after a call starts (one `setImmediate`
 * shared by a whole registry): a call that settles within its own turn, as cached or
 * in-memory work does, never costs a timer at all. None is left once every call has
 * settled. The timer keeps the process alive while a call runs, as the call itself would:
 * someone awaits its result, and a call that hangs on nothing must still time out.
 *
 * Under fake timers the timer is armed at once instead. A test advances the fake clock
 * synchronously right after starting a call, and then asserts that no timer is left once
 * its calls have settled: a late arming would miss the first advance (when `setImmediate`
 * is real) or be the timer left over (when it is fake). Arming at once costs a
 * `setTimeout` + `clearTimeout` pair per call that finds no timer running, nothing under
 * fake time, but several times the rest of a call under real time, so it is only done
 * there.
 */

/** An entry of a {@link DeadlineQueue}: a running call. */
export interface Deadline {
  /** When the call times out, on the registry's clock. */
  readonly deadline: number;
  /** Set once the call has its result (settled, timed out or abandoned). */
  done: boolean;
}

type Handle = ReturnType<typeof setTimeout>;

/** Something whose timer {@link TimerArming} starts. */
interface Armable {
  arm(): void;
}

// The timer functions Node gave us, as this module found them.
const nodeSetTimeout = globalThis.setTimeout;
const nodeSetImmediate = globalThis.setImmediate;

/**
 * Whether a fake-timer library has replaced the timer functions: @sinonjs/fake-timers (which
 * vitest's and Jest's fake timers are built on) marks each function it installs with its
 * `clock`; any other replacement made after this module loaded shows as a changed function.
 * Asked when a queue wants a timer: at most once per executor and loop turn, never per call.
 */
function timersFaked(): boolean {
  const set = globalThis.setTimeout;
  const immediate = globalThis.setImmediate;
  return set !== nodeSetTimeout || immediate !== nodeSetImmediate || 'clock' in set || 'clock' in immediate;
}

/**
 * Arms deadline timers a loop turn late, with one `setImmediate` for many queues; under
 * fake timers, at once.
 */
export class TimerArming {
  #waiting: Armable[] = [];
  #immediate: ReturnType<typeof setImmediate> | undefined;

  /** Asks for `queue.arm()` to be called on the next loop turn (under fake timers: now). */
  request(queue: Armable): void {
    if (timersFaked()) {
      queue.arm();
      return;
    }
    this.#waiting.push(queue);
    this.#immediate ??= setImmediate(this.#run);
  }

  /** Drops every pending request (the queues are being thrown away). */
  cancel(): void {
    clearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#waiting = [];
  }

  #run = (): void => {
    this.#immediate = undefined;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const queue of waiting) queue.arm();
  };
}

/**
 * The running calls of one executor, ordered by deadline, and the one timer that expires
 * them. Settled calls are dropped lazily, so settling is O(1) amortised.
 */
export class DeadlineQueue<E extends Deadline> {
  #items: E[] = [];
  /** Index of the first entry that may still be live. */
  #head = 0;
  /** Entries not yet done. */
  #live = 0;
  #timer: Handle | undefined;
  #armRequested = false;
  /** Set by clear(): the owner is gone and nothing may arm a timer again. */
  #disposed = false;
  readonly #now: () => number;
  readonly #arming: TimerArming;
  readonly #expire: (entry: E, now: number) => void;

  /** `expire` is called for each entry whose deadline has passed, already marked done. */
  constructor(now: () => number, arming: TimerArming, expire: (entry: E, now: number) => void) {
    this.#now = now;
    this.#arming = arming;
    this.#expire = expire;
  }

  add(entry: E): void {
    const items = this.#items;
    const n = items.length;
    if (n === this.#head || items[n - 1]!.deadline <= entry.deadline) {
      items.push(entry);
    } else {
      // After requestTimeout was lowered while calls ran, or with per-call timeouts and slow watches.
      let lo = this.#head;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (items[mid]!.deadline <= entry.deadline) lo = mid + 1;
        else hi = mid;
      }
      items.splice(lo, 0, entry);
      // An earlier deadline than the armed one: re-arm on the next turn.
      if (lo === this.#head) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    }
    this.#live++;
    if (this.#timer === undefined && !this.#armRequested) {
      this.#armRequested = true;
      this.#arming.request(this);
    }
  }

  /**
   * The length of the backing array: the running entries plus the settled ones not yet
   * dropped. It exists for the tests of the memory bound (settled entries are dropped
   * lazily, but never pile up).
   */
  get length(): number {
    return this.#items.length;
  }

  /** Marks `entry` done and drops it; the timer goes with the last running call. */
  settle(entry: E): void {
    entry.done = true;
    if (this.#live === 0) return; // cleared while the call ran: nothing to drop
    if (--this.#live === 0) {
      this.#drain();
      return;
    }
    const items = this.#items;
    let head = this.#head;
    while (items[head]!.done) head++;
    this.#head = head;
    // A long call at the head can hold many settled ones behind it: compact now and then.
    const dead = items.length - head - this.#live;
    if (dead > 64 && dead > this.#live) {
      this.#items = items.filter((e) => !e.done); // those before the head are all done
      this.#head = 0;
    }
  }

  /** Called by {@link TimerArming}: starts the timer for the earliest deadline. */
  arm(): void {
    this.#armRequested = false;
    if (this.#live === 0 || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, this.#items[this.#head]!.deadline - this.#now()));
  }

  /** Forgets every call and stops the timer for good; the calls will never expire. */
  clear(): void {
    this.#disposed = true;
    this.#drain();
  }

  #drain(): void {
    // With calls that each settle before the next starts, this runs on every call: pop()
    // is far cheaper than setting length or allocating a new array.
    const items = this.#items;
    if (items.length <= 16) while (items.length > 0) items.pop();
    else this.#items = [];
    this.#head = 0;
    this.#live = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#now();
    // While calls run, the head entry is always a running one (settle keeps it so).
    while (this.#live > 0 && !this.#disposed) {
      const entry = this.#items[this.#head]!;
      if (entry.deadline > now) {
        this.#timer ??= setTimeout(() => this.#fire(), Math.max(1, entry.deadline - now));
        return;
      }
      this.settle(entry);
      // May run listeners, which may start calls, settle others or destroy everything.
      this.#expire(entry, now);
    }
  }
}
