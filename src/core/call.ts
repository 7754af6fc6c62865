/**
 * One call's bookkeeping and the shapes of its result, kept apart from the state machine.
 * One `Call` is made per admitted call, so it is kept small.
 */
import type { SlowWatch } from '../policies/rate-window.js';
import type { Deadline } from './timeout.js';
import type { CircuitState, ExecutionResult, ProbeGate } from './types.js';

/** Hands a probe gate's grant back; the gate's own failure changes no call's result. */
export function handBack(gate: ProbeGate): void {
  try {
    gate.release();
  } catch {
    // Nothing to do: the call's result does not depend on the gate.
  }
}

/** A bulkhead slot, handed back with {@link Slot.leave}. */
export interface Slot {
  leave(): void;
}

/** The caller's signal and the listener a call put on it. */
export interface CallerLink {
  readonly signal: AbortSignal;
  readonly listener: () => void;
}

/**
 * One running call; it is its own entry in the deadline queue. Kept small: one is made
 * per call. The deadline is derived rather than stored, since a stored time would cost a
 * heap number per call where the timeout is a small integer.
 */
export class Call implements Deadline {
  done = false;
  resolve: ((result: ExecutionResult<unknown>) => void) | null = null;
  controller: AbortController | null = null;
  link: CallerLink | null = null;
  /** The gate that granted this call as a probe, until the grant is handed back. */
  gate: ProbeGate | null = null;
  /** The bulkhead whose slot this call holds, until it is handed back. */
  slot: Slot | null = null;
  /** When the slow-call rule watches this call: the moment it becomes slow. */
  watch: SlowWatch<Call> | null = null;

  constructor(
    /** Changed only when a call that waited for a bulkhead slot is admitted. */
    public generation: number,
    readonly start: number,
    /** The request timeout in ms, 0 for none. */
    readonly timeout: number,
    public admittedIn: CircuitState,
    /** The fallback cache entry; null keeps the call away from the cache. */
    readonly cacheKey: string | null | undefined,
  ) {}

  get deadline(): number {
    return this.start + this.timeout;
  }

  /** A promise of the call's result, settled by {@link Call.resolve}. */
  result(): Promise<ExecutionResult<unknown>> {
    const promise = new Promise<ExecutionResult<unknown>>(capture);
    this.resolve = captured;
    return promise;
  }

  /** Hands a probe's grant back to the gate that gave it, once; a gate that throws is ignored. */
  releaseGate(): void {
    const gate = this.gate;
    this.gate = null;
    if (gate !== null) handBack(gate);
  }

  /** Stops listening to the caller's signal. */
  detach(): void {
    if (this.link !== null) this.link.signal.removeEventListener('abort', this.link.listener);
  }
}

// The executor of `new Promise` hands its resolver here: one shared function instead of a
// closure per call.
let captured: ((result: ExecutionResult<unknown>) => void) | null = null;
function capture(resolve: (result: ExecutionResult<unknown>) => void): void {
  captured = resolve;
}

/** The result of a call that failed or was rejected without a cached value. */
export function failure(error: Error, rejected: boolean, state: CircuitState, time: number): ExecutionResult<never> {
  return {
    success: false,
    data: undefined,
    error,
    fromCache: false,
    rejected,
    circuitState: state,
    executionTime: time,
    fromFallback: false,
    attempts: 1,
  };
}

/** The result of a call that produced a value, its own or a cached one. */
export function success<T>(data: T, fromCache: boolean, state: CircuitState, time: number): ExecutionResult<T> {
  return {
    success: true,
    data,
    error: undefined,
    fromCache,
    rejected: fromCache,
    circuitState: state,
    executionTime: time,
    fromFallback: false,
    attempts: 1,
  };
}

/**
 * The promise to wait on for what `fn` returned, or null for a plain value. Never throws,
 * even for a Proxy whose traps throw: where inspecting the value fails, the promise
 * machinery inspects it again and turns that throw into a rejection.
 */
export function pendingOf(value: unknown): Promise<unknown> | null {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return null;
  try {
    // A subclass may override `then`; handed to Promise.resolve, a throw from it becomes
    // a rejection instead of escaping execute().
    if (value instanceof Promise && value.constructor === Promise) return value;
    return typeof (value as PromiseLike<unknown>).then === 'function' ? Promise.resolve(value) : null;
  } catch {
    return Promise.resolve(value);
  }
}
