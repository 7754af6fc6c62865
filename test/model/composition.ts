/**
 * Reference models of the bulkhead and of retry, for test/property-composition.test.ts.
 * Written from /work/shared/POLICIES.md (sections 3 and 5) and docs/decisions.md; they
 * import nothing from src/.
 *
 * The bulkhead model keeps the circuit out of the way (a threshold no sequence reaches, the
 * cache off) except for forced opening and closing, and follows each call through: it runs
 * at once, waits in line, or is refused; a waiting call starts when a slot frees (first
 * come first), unless its deadline has come (it times out without running) or the circuit
 * is open then (rejected without running).
 */

/** How a call ended, as the model predicts it. */
export type Outcome =
  | 'success'
  | 'failure'
  | 'timeout' // ran and timed out
  | 'timeout-waiting' // timed out in line, never ran
  | 'aborted' // the caller aborted while it ran
  | 'aborted-waiting' // the caller aborted while it waited, never ran
  | 'bulkhead' // refused by the bulkhead
  | 'open'; // refused by the circuit (forced open)

/** What a call's fn does once it runs: settle at once, or hold until the test settles it. */
export type Behaviour = 'ok' | 'fail' | 'hold';

interface ModelCall {
  id: number;
  behaviour: Behaviour;
  deadline: number;
  /** Sequence number of when it entered the deadline order (ties keep this order). */
  seq: number;
  state: 'running' | 'waiting' | 'done';
  ran: boolean;
  outcome: Outcome | null;
}

export class BulkheadModel {
  now = 0;
  open = false;
  readonly calls: ModelCall[] = [];
  #queue: ModelCall[] = [];
  #running = 0;
  #seq = 0;

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
    readonly timeout: number,
  ) {}

  /** Calls holding a slot. */
  get running(): number {
    return this.#running;
  }

  /** Calls waiting in line, in order. */
  get waiting(): number[] {
    return this.#queue.map((c) => c.id);
  }

  start(behaviour: Behaviour): ModelCall {
    const call: ModelCall = { id: this.calls.length, behaviour, deadline: this.now + this.timeout, seq: -1, state: 'done', ran: false, outcome: null };
    this.calls.push(call);
    if (this.open) {
      call.outcome = 'open';
    } else if (this.#running < this.maxConcurrent) {
      this.#run(call);
    } else if (this.#queue.length < this.maxQueue) {
      call.state = 'waiting';
      call.seq = this.#seq++;
      this.#queue.push(call);
    } else {
      call.outcome = 'bulkhead';
    }
    return call;
  }

  /** The test settles a holding call's fn. */
  release(id: number, ok: boolean): void {
    const call = this.calls[id]!;
    if (call.state !== 'running') return;
    this.#end(call, ok ? 'success' : 'failure');
  }

  /** The caller's signal of call `id` aborts. */
  abort(id: number): void {
    const call = this.calls[id]!;
    if (call.state === 'running') this.#end(call, 'aborted');
    else if (call.state === 'waiting') {
      this.#queue.splice(this.#queue.indexOf(call), 1);
      call.state = 'done';
      call.outcome = 'aborted-waiting';
    }
  }

  setOpen(open: boolean): void {
    this.open = open;
  }

  /** Time moves by `ms`: deadlines come in order, each at its own time. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.calls
        .filter((c) => (c.state === 'running' || c.state === 'waiting') && c.deadline <= end)
        .sort((a, b) => a.deadline - b.deadline || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.now = Math.max(this.now, due.deadline);
      if (due.state === 'running') this.#end(due, 'timeout');
      else {
        this.#queue.splice(this.#queue.indexOf(due), 1);
        due.state = 'done';
        due.outcome = 'timeout-waiting';
      }
    }
    this.now = end;
  }

  #run(call: ModelCall): void {
    call.ran = true;
    this.#running++;
    if (call.behaviour === 'hold') {
      call.state = 'running';
      if (call.seq < 0) call.seq = this.#seq++;
      return;
    }
    call.state = 'running';
    this.#end(call, call.behaviour === 'ok' ? 'success' : 'failure');
  }

  #end(call: ModelCall, outcome: Outcome): void {
    call.state = 'done';
    call.outcome = outcome;
    this.#running--;
    this.#drain();
  }

  #drain(): void {
    while (this.#running < this.maxConcurrent && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      if (next.deadline <= this.now) {
        next.state = 'done';
        next.outcome = 'timeout-waiting';
      } else if (this.open) {
        next.state = 'done';
        next.outcome = 'open';
      } else {
        this.#run(next);
      }
    }
  }
}

/** One call with retry, as the retry model predicts it. */
export interface RetryPrediction {
  /** fn's invocations for this call. */
  invoked: number;
  attempts: number;
  outcome: 'success' | 'failure' | 'rejected';
}

/**
 * Sequential calls with retry to a service whose answers are scripted (one per
 * invocation), no time passing (delays of 0 ms): the circuit opens when `threshold`
 * failures have been counted and stays open; a rejection ends the retries; the budget
 * allows a retry while retries < max(3, ratio x first tries of calls that may retry).
 */
export class RetryModel {
  failures = 0;
  firsts = 0;
  retries = 0;
  #script: boolean[];

  constructor(
    readonly threshold: number,
    readonly ratio: number,
    script: boolean[],
  ) {
    this.#script = [...script];
  }

  get open(): boolean {
    return this.failures >= this.threshold;
  }

  call(attempts: number): RetryPrediction {
    // The budget counts the first tries of calls that may retry (one attempt is no retry).
    if (attempts > 1) this.firsts++;
    let invoked = 0;
    for (let attempt = 1; ; attempt++) {
      if (this.open) return { invoked, attempts: attempt, outcome: 'rejected' };
      invoked++;
      const ok = this.#script.shift() ?? true;
      if (ok) return { invoked, attempts: attempt, outcome: 'success' };
      this.failures++;
      if (attempt >= attempts) return { invoked, attempts: attempt, outcome: 'failure' };
      const allowed = this.ratio === Infinity || this.retries < Math.max(3, this.ratio * this.firsts);
      if (!allowed) return { invoked, attempts: attempt, outcome: 'failure' };
      this.retries++;
    }
  }
}
