/**
 * The bulkhead: at most `maxConcurrent` calls of an executor run at once, and up to
 * `maxQueue` more wait, in order, for a slot. This file keeps the counts and the queue; the
 * breaker decides when a call enters, waits, starts or leaves (src/core/breaker.ts).
 */

/**
 * The error of a call the bulkhead refused: `maxConcurrent` calls were running and
 * `maxQueue` more were waiting. It says nothing about the service's health, so it never
 * moves the circuit. Like `CircuitOpenError`, it carries no stack trace: one is made per
 * executor and shared by the calls it refuses.
 */
export class BulkheadRejectedError extends Error {
  /** Always `'BulkheadRejectedError'`. */
  override name = 'BulkheadRejectedError' as const;
  /** The executor whose bulkhead refused the call. */
  readonly executorName: string;
  /** The executor's `maxConcurrent` when the call was refused. */
  readonly maxConcurrent: number;
  /** The executor's `maxQueue` when the call was refused. */
  readonly maxQueue: number;

  constructor(executorName: string, maxConcurrent: number, maxQueue: number, message?: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(
      message ??
        `Bulkhead of "${executorName}" is full: ${maxConcurrent} calls running and ${maxQueue} waiting`,
    );
    Error.stackTraceLimit = limit;
    this.executorName = executorName;
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
  }
}

/** Slots and the waiting line of one executor; `E` is a waiting call, `F` what starts it. */
export class Bulkhead<E, F> {
  /** Calls holding a slot. */
  running = 0;
  #limit: number;
  #queueLimit: number;
  /** Waiting calls, first come first; a Map keeps insertion order and deletes in O(1). */
  readonly #waiting = new Map<E, F>();
  #error: BulkheadRejectedError | null = null;

  constructor(limit: number, queueLimit: number) {
    this.#limit = limit;
    this.#queueLimit = queueLimit;
  }

  /** Takes a slot if one is free. */
  tryEnter(): boolean {
    if (this.running >= this.#limit) return false;
    this.running++;
    return true;
  }

  /** Gives a slot back. */
  leave(): void {
    this.running--;
  }

  /** Puts `entry` at the end of the line; false when the line is full. */
  wait(entry: E, start: F): boolean {
    if (this.#waiting.size >= this.#queueLimit) return false;
    this.#waiting.set(entry, start);
    return true;
  }

  /** Takes `entry` out of the line; false if it was not waiting. */
  withdraw(entry: E): boolean {
    return this.#waiting.delete(entry);
  }

  /** The first waiting call, taken out of the line, if a slot is free for it; else null. */
  next(): [E, F] | null {
    if (this.running >= this.#limit || this.#waiting.size === 0) return null;
    const first = this.#waiting.entries().next().value as [E, F];
    this.#waiting.delete(first[0]);
    return first;
  }

  /** Empties the line and returns what waited in it, in order. */
  clear(): E[] {
    const waiting = [...this.#waiting.keys()];
    this.#waiting.clear();
    return waiting;
  }

  /** New limits; calls already running or waiting keep their place. */
  resize(limit: number, queueLimit: number): void {
    if (limit !== this.#limit || queueLimit !== this.#queueLimit) this.#error = null;
    this.#limit = limit;
    this.#queueLimit = queueLimit;
  }

  /** The refusal shared by every call this bulkhead refuses under its current limits. */
  error(executorName: string): BulkheadRejectedError {
    return (this.#error ??= new BulkheadRejectedError(executorName, this.#limit, this.#queueLimit));
  }
}
