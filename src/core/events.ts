import { EventEmitter } from 'eventemitter3';
import { show } from './config.js';
import type { CircuitBreakerEventName, CircuitBreakerEvents } from './types.js';

/** Every event name, for validating `on` and `off`. */
export const EVENT_NAMES: readonly CircuitBreakerEventName[] = Object.freeze([
  'circuit:opened',
  'circuit:closed',
  'circuit:half-open',
  'request:success',
  'request:failure',
  'request:rejected',
  'fallback:used',
  'request:retry',
]);

type AnyListener = (a: unknown, b: unknown, c?: unknown, d?: unknown) => void;

/**
 * The typed events of one registry, on eventemitter3.
 *
 * Each listener is registered behind a guard that catches what it throws and reports it as
 * a process warning, so a faulty listener can never change a call's result, a circuit's
 * state, or stop the listeners after it. `has()` lets callers skip building an event's
 * arguments (a stats snapshot, say) when nobody listens.
 */
export class Events {
  // Untyped inside: the public on/off/emit below carry the typing.
  readonly #emitter = new EventEmitter();
  /** The guard registered for each listener, per event, so `off` can find it. */
  readonly #guards = new Map<CircuitBreakerEventName, Map<AnyListener, AnyListener[]>>();
  /** Listener count per event, read on every emit. */
  readonly #counts: Record<CircuitBreakerEventName, number> = {
    'circuit:opened': 0,
    'circuit:closed': 0,
    'circuit:half-open': 0,
    'request:success': 0,
    'request:failure': 0,
    'request:rejected': 0,
    'fallback:used': 0,
    'request:retry': 0,
  };

  /** Adds `listener`; returns a function that removes this registration (once). */
  on<E extends CircuitBreakerEventName>(event: E, listener: CircuitBreakerEvents[E], where = 'on'): () => void {
    check(event, listener, where);
    const fn = listener as AnyListener;
    const guard: AnyListener = (...args) => {
      try {
        // Exactly the emitted arguments: a listener may count them (`...args`, spies).
        fn.apply(undefined, args as [unknown, unknown, unknown, unknown]);
      } catch (error) {
        reportListenerError(event, error);
      }
    };
    let byListener = this.#guards.get(event);
    if (!byListener) this.#guards.set(event, (byListener = new Map()));
    const guards = byListener.get(fn);
    if (guards) guards.push(guard);
    else byListener.set(fn, [guard]);
    this.#emitter.on(event, guard);
    this.#counts[event]++;
    return () => this.#remove(event, fn, guard);
  }

  /** Removes one registration: `guard`, made for `listener`; does nothing if it is gone. */
  #remove(event: CircuitBreakerEventName, listener: AnyListener, guard: AnyListener): void {
    const guards = this.#guards.get(event)?.get(listener);
    const at = guards?.lastIndexOf(guard) ?? -1;
    if (at < 0) return;
    guards!.splice(at, 1);
    if (guards!.length === 0) this.#guards.get(event)!.delete(listener);
    this.#emitter.off(event, guard);
    this.#counts[event]--;
  }

  /** Removes one registration of `listener` (the latest), as Node's `off` does. */
  off<E extends CircuitBreakerEventName>(event: E, listener: CircuitBreakerEvents[E], where = 'off'): void {
    check(event, listener, where);
    const byListener = this.#guards.get(event);
    const guards = byListener?.get(listener as AnyListener);
    if (!guards) return;
    const guard = guards.pop()!;
    if (guards.length === 0) byListener!.delete(listener as AnyListener);
    this.#emitter.off(event, guard);
    this.#counts[event]--;
  }

  /** Whether anyone listens to `event`. */
  has(event: CircuitBreakerEventName): boolean {
    return this.#counts[event] > 0;
  }

  /** Calls `event`'s listeners; fixed arity so that no rest array is built per event. */
  emit<E extends CircuitBreakerEventName>(
    event: E,
    a: Parameters<CircuitBreakerEvents[E]>[0],
    b?: Parameters<CircuitBreakerEvents[E]>[1],
    c?: Parameters<CircuitBreakerEvents[E]>[2],
    d?: Parameters<CircuitBreakerEvents[E]>[3],
  ): void {
    if (this.#counts[event] === 0) return;
    if (d !== undefined) {
      this.#emitter.emit(event, a, b, c, d);
      return;
    }
    // Exactly the documented arguments: one for the events that carry one.
    if (b === undefined) this.#emitter.emit(event, a);
    else this.#emitter.emit(event, a, b);
  }

  /** Removes every listener. */
  clear(): void {
    this.#emitter.removeAllListeners();
    this.#guards.clear();
    for (const event of EVENT_NAMES) this.#counts[event] = 0;
  }
}

function check(event: unknown, listener: unknown, where: string): void {
  if (!(EVENT_NAMES as readonly unknown[]).includes(event)) {
    throw new TypeError(`${where}: unknown event ${show(event)} (events: ${EVENT_NAMES.join(', ')})`);
  }
  if (typeof listener !== 'function') {
    throw new TypeError(`${where}: the listener for "${event}" must be a function, got ${show(listener)}`);
  }
}

function reportListenerError(event: string, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : show(error);
  const message = `A listener for "${event}" threw; the circuit breaker ignored it: ${detail}`;
  if (typeof process !== 'undefined' && typeof process.emitWarning === 'function') {
    process.emitWarning(message, { type: 'CircuitBreakerListenerWarning', code: 'CIRCUIT_BREAKER_LISTENER' });
  } else {
    console.error(message);
  }
}
