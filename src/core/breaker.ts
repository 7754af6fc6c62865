import { mergeConfig } from './config.js';
import { CircuitOpenError, TimeoutError, toError } from './errors.js';
import { Events } from './events.js';
import { FallbackCache, MISS } from './fallback.js';
import { wantsSignal } from './signal.js';
import { Call, failure, pendingOf, success } from './call.js';
import { Counters } from './stats.js';
import { DeadlineQueue, type TimerArming } from './timeout.js';
import {
  CircuitState,
  type CircuitBreakerConfig,
  type CircuitBreakerEventName,
  type CircuitBreakerStats,
  type ExecutionResult,
  type ProbeGate,
} from './types.js';
import { FailureWindow } from './window.js';

/** What a breaker takes from its registry. */
export interface BreakerHost {
  readonly now: () => number;
  readonly events: Events;
  readonly arming: TimerArming;
}

/** Each state carries only its own data. */
type Phase =
  | { readonly kind: CircuitState.CLOSED }
  | {
      readonly kind: CircuitState.OPEN;
      /** When probes may start; null while held open by hand. */
      readonly until: number | null;
      /** Made on the first rejection of this period and shared by the rest. */
      rejection: CircuitOpenError | null;
    }
  | {
      readonly kind: CircuitState.HALF_OPEN;
      /** Probes in flight. */
      probes: number;
      /** Probes that succeeded. */
      successes: number;
      rejection: CircuitOpenError | null;
    };

const CLOSED_PHASE: Phase = Object.freeze({ kind: CircuitState.CLOSED });

/** A breaker that was destroyed reports to nobody. */
const DETACHED = new Events();

/** Asks a probe gate; one that throws refuses. */
function grants(gate: ProbeGate): boolean {
  try {
    return gate.tryAcquire() === true;
  } catch {
    return false;
  }
}

function assertNever(value: never): never {
  throw new Error(`unreachable: ${String(value)}`);
}

/**
 * One executor's circuit: its state machine, fallback cache and running calls; its
 * counters are in {@link Counters}.
 *
 * Every transition goes through {@link Breaker.#transition}, which also starts a new
 * generation: a call remembers the generation it started in, and when it settles in a later
 * one its outcome only reaches the request statistics, never the new period's state.
 */
export class Breaker {
  readonly name: string;
  #config: Readonly<CircuitBreakerConfig>;
  readonly #now: () => number;
  readonly #host: BreakerHost;
  #events: Events;
  // Made on first need: most breakers never fail, many never cache, and a breaker that
  // only ever sees synchronous calls never needs deadlines.
  #window: FailureWindow | null = null;
  #cache: FallbackCache | null = null;
  #deadlines: DeadlineQueue<Call> | null = null;
  /** The last fn run and whether it takes the signal: a stable fn is inspected once. */
  #lastFn: Function | null = null;
  #lastWantsSignal = false;
  /** Asked before each half-open probe, when breakers are coordinated beyond this process. */
  #gate: ProbeGate | null = null;

  #phase: Phase = CLOSED_PHASE;
  #generation = 0;
  /** Moves OPEN to HALF_OPEN on time; only armed while OPEN on its own timer. */
  #reopenTimer: ReturnType<typeof setTimeout> | null = null;

  #counters = new Counters();

  constructor(name: string, config: Readonly<CircuitBreakerConfig>, host: BreakerHost) {
    this.name = name;
    this.#config = config;
    this.#now = host.now;
    this.#host = host;
    this.#events = host.events;
  }

  /** The configuration in force (frozen; replaced, never changed, by {@link Breaker.configure}). */
  config(): Readonly<CircuitBreakerConfig> {
    return this.#config;
  }

  /** Merges an already validated partial configuration; the state is kept. */
  configure(partial: Partial<CircuitBreakerConfig>): void {
    const config = mergeConfig(this.#config, partial);
    this.#config = config;
    this.#window?.resize(config.failureThreshold, config.failureWindow, this.#now());
    if (!config.cacheFallback) this.#cache = null;
    else this.#cache?.resize(config.fallbackMaxEntries);
  }

  /** Runs `fn` if the circuit admits it; `fn` and options are already validated. */
  execute(
    fn: (signal?: AbortSignal) => unknown,
    cacheKey: string | undefined,
    callerSignal: AbortSignal | undefined,
  ): Promise<ExecutionResult<unknown>> {
    const now = this.#now();
    let phase = this.#phase;
    let gate: ProbeGate | null = null;
    if (phase.kind !== CircuitState.CLOSED) {
      this.#refresh(now);
      phase = this.#phase;
      if (phase.kind === CircuitState.OPEN) return this.#reject(phase, cacheKey, now);
      if (phase.kind === CircuitState.HALF_OPEN) {
        if (phase.probes >= this.#config.successThreshold) return this.#reject(phase, cacheKey, now);
        if (this.#gate !== null) {
          if (!grants(this.#gate)) return this.#reject(phase, cacheKey, now);
          gate = this.#gate;
        }
        phase.probes++;
      }
    }
    const timeout = this.#config.requestTimeout;
    const call = new Call(this.#generation, now, timeout === Infinity ? 0 : timeout, phase.kind, cacheKey);
    if (gate !== null) call.gate = gate;
    if (callerSignal?.aborted) return Promise.resolve(this.#abandon(call, callerSignal.reason, false));

    let value: unknown;
    try {
      if (fn === this.#lastFn ? this.#lastWantsSignal : this.#inspect(fn)) {
        call.controller = new AbortController();
        value = fn(call.controller.signal);
      } else {
        value = fn();
      }
    } catch (thrown) {
      return Promise.resolve(this.#settle(call, false, thrown));
    }
    const pending = pendingOf(value);
    if (pending === null) return Promise.resolve(this.#settle(call, true, value));

    if (timeout === Infinity && callerSignal === undefined) {
      // Nothing can settle the call early, so fn's own promise carries the result.
      return pending.then(
        (data) => this.#settle(call, true, data),
        (error) => this.#settle(call, false, error),
      );
    }
    const result = call.result();
    if (timeout !== Infinity) {
      (this.#deadlines ??= new DeadlineQueue<Call>(this.#now, this.#host.arming, (c, now) => this.#expire(c, now))).add(call);
    }
    if (callerSignal !== undefined) {
      const listener = (): void => this.#onCallerAbort(call);
      call.link = { signal: callerSignal, listener };
      callerSignal.addEventListener('abort', listener, { once: true });
    }
    pending.then(
      (data) => this.#finish(call, true, data),
      (error) => this.#finish(call, false, error),
    );
    // Aborted while fn ran synchronously: the event fired before anyone listened.
    if (callerSignal?.aborted) this.#onCallerAbort(call);
    return result;
  }

  /** The state, after any transition that is due. */
  state(): CircuitState {
    this.#refresh(this.#now());
    return this.#phase.kind;
  }

  /** A fresh snapshot of the statistics, after any transition that is due. */
  stats(): CircuitBreakerStats {
    this.#refresh(this.#now());
    return this.#snapshot();
  }

  /** Forces OPEN and holds it there until closed or reset. */
  open(): void {
    const phase = this.#phase;
    if (phase.kind === CircuitState.OPEN) {
      if (phase.until === null) return;
      // Already open on its timer: hold it, without a second opening.
      this.#clearReopenTimer();
      this.#phase = { kind: CircuitState.OPEN, until: null, rejection: null };
      return;
    }
    this.#transition({ kind: CircuitState.OPEN, until: null, rejection: null }, this.#now());
  }

  /**
   * Opens the circuit as if it had opened on its own, with probes from `until`. On a circuit
   * already OPEN on its timer it only moves that time; one held open stays held.
   */
  trip(until: number): void {
    const phase = this.#phase;
    if (phase.kind !== CircuitState.OPEN) {
      this.#transition({ kind: CircuitState.OPEN, until, rejection: null }, this.#now());
    } else if (phase.until !== null && phase.until !== until) {
      this.#clearReopenTimer();
      this.#phase = { kind: CircuitState.OPEN, until, rejection: null };
      this.#armReopen(until, this.#now());
    }
  }

  /** Installs or removes the half-open probe gate. */
  setGate(gate: ProbeGate | null): void {
    this.#gate = gate;
  }

  /** Forces CLOSED and forgets the failures in the window. */
  close(): void {
    if (this.#phase.kind === CircuitState.CLOSED) this.#window?.clear();
    else this.#transition(CLOSED_PHASE, this.#now());
  }

  /** Back to the initial state: CLOSED, every counter zero, cache empty; configuration kept. */
  reset(): void {
    const wasClosed = this.#phase.kind === CircuitState.CLOSED;
    this.#clearReopenTimer();
    this.#phase = CLOSED_PHASE;
    this.#generation++;
    this.#window?.clear();
    this.#cache = null;
    this.#counters = new Counters();
    // Whoever watches for the circuit to close learns that it did.
    if (!wasClosed) this.#announce('circuit:closed');
  }

  /**
   * Stops every timer and detaches from the registry's events. Calls still running settle
   * with their own outcome, but no longer time out and no longer touch any state.
   */
  destroy(): void {
    this.#clearReopenTimer();
    this.#deadlines?.clear();
    this.#lastFn = null;
    this.#gate = null;
    this.#generation++;
    this.#phase = CLOSED_PHASE;
    this.#events = DETACHED;
  }

  /** Decides whether `fn` takes the signal and remembers the answer for the next call. */
  #inspect(fn: Function): boolean {
    this.#lastFn = fn;
    return (this.#lastWantsSignal = wantsSignal(fn));
  }

  #reject(
    phase: Exclude<Phase, { kind: CircuitState.CLOSED }>,
    cacheKey: string | undefined,
    now: number,
  ): Promise<ExecutionResult<unknown>> {
    this.#counters.rejected++;
    this.#events.emit('request:rejected', this.name);
    if (this.#config.cacheFallback) {
      const cached = this.#cache === null ? MISS : this.#cache.lookup(cacheKey, now, this.#config.fallbackMaxAge);
      if (cached !== MISS) {
        this.#events.emit('fallback:used', this.name);
        return Promise.resolve(success(cached, true, phase.kind, 0));
      }
    }
    const error = (phase.rejection ??=
      phase.kind === CircuitState.OPEN
        ? new CircuitOpenError(this.name, phase.until === null ? null : new Date(phase.until))
        : new CircuitOpenError(this.name, null, true));
    return Promise.resolve(failure(error, true, phase.kind, 0));
  }

  /** fn settled: the result, unless a timeout or the caller's abort already gave one. */
  #finish(call: Call, ok: boolean, payload: unknown): void {
    if (call.done) return;
    if (call.timeout !== 0) this.#deadlines!.settle(call);
    else call.done = true;
    call.detach();
    call.resolve!(this.#settle(call, ok, payload));
  }

  /** The deadline queue found `call` past its deadline (and has marked it done). */
  #expire(call: Call, now: number): void {
    const error = new TimeoutError(this.name, call.timeout);
    call.controller?.abort(error);
    call.detach();
    call.resolve!(this.#settle(call, false, error, now));
  }

  #onCallerAbort(call: Call): void {
    if (call.done) return;
    if (call.timeout !== 0) this.#deadlines!.settle(call);
    else call.done = true;
    const reason: unknown = call.link!.signal.reason;
    call.controller?.abort(reason);
    call.resolve!(this.#abandon(call, reason, true));
  }

  /** Accounts for a call's outcome and returns its result. */
  #settle(call: Call, ok: boolean, payload: unknown, now = this.#now()): ExecutionResult<unknown> {
    const time = now > call.start ? now - call.start : 0;
    if (call.gate !== null) call.releaseGate();
    if (ok) {
      this.#counters.succeeded(now, time, call.generation === this.#generation);
      if (this.#config.cacheFallback) {
        (this.#cache ??= new FallbackCache(this.#config.fallbackMaxEntries)).store(call.cacheKey, payload, now);
      }
      this.#events.emit('request:success', this.name, time);
      // Checked after the event: a listener may have moved the circuit on.
      const phase = this.#phase;
      if (call.generation === this.#generation && phase.kind === CircuitState.HALF_OPEN) {
        phase.probes--;
        if (++phase.successes >= this.#config.successThreshold) this.#transition(CLOSED_PHASE, now);
      }
      return success(payload, false, call.admittedIn, time);
    }
    const error = toError(payload);
    this.#counters.failedAfter(now, time, call.generation === this.#generation);
    this.#events.emit('request:failure', this.name, error);
    if (call.generation === this.#generation) {
      const phase = this.#phase;
      if (
        phase.kind === CircuitState.HALF_OPEN ||
        (this.#window ??= new FailureWindow(this.#config.failureThreshold, this.#config.failureWindow)).record(now)
      ) {
        this.#tripOpen(now);
      }
    }
    return failure(error, false, call.admittedIn, time);
  }

  /** The caller gave up on the call: a failed request, but not the service's failure. */
  #abandon(call: Call, reason: unknown, ran: boolean): ExecutionResult<unknown> {
    const now = this.#now();
    const time = ran && now > call.start ? now - call.start : 0;
    if (call.gate !== null) call.releaseGate();
    this.#counters.abandoned(time, ran);
    const phase = this.#phase;
    if (call.generation === this.#generation && phase.kind === CircuitState.HALF_OPEN) phase.probes--;
    const error = toError(reason);
    this.#events.emit('request:failure', this.name, error);
    return failure(error, false, call.admittedIn, time);
  }

  #tripOpen(now: number): void {
    this.#transition({ kind: CircuitState.OPEN, until: now + this.#config.resetTimeout, rejection: null }, now);
  }

  /** OPEN on its own timer becomes HALF_OPEN once its time has come. */
  #refresh(now: number): void {
    const phase = this.#phase;
    if (phase.kind === CircuitState.OPEN && phase.until !== null && now >= phase.until) {
      this.#transition({ kind: CircuitState.HALF_OPEN, probes: 0, successes: 0, rejection: null }, phase.until);
    }
  }

  #onReopenTimer(): void {
    this.#reopenTimer = null;
    const phase = this.#phase;
    // A timer may fire a hair before the clock agrees; its time has come all the same.
    if (phase.kind === CircuitState.OPEN && phase.until !== null) this.#refresh(Math.max(this.#now(), phase.until));
  }

  /** Every transition: leaves the old state, starts a generation, announces the new one. */
  #transition(next: Phase, at: number): void {
    this.#clearReopenTimer();
    this.#phase = next;
    this.#generation++;
    this.#counters.lastStateChange = at;
    switch (next.kind) {
      case CircuitState.OPEN:
        this.#counters.timesOpened++;
        if (next.until !== null) this.#armReopen(next.until, at);
        this.#announce('circuit:opened');
        break;
      case CircuitState.HALF_OPEN:
        this.#announce('circuit:half-open');
        break;
      case CircuitState.CLOSED:
        this.#counters.timesClosed++;
        this.#window?.clear();
        this.#announce('circuit:closed');
        break;
      default:
        assertNever(next);
    }
  }

  #announce(event: Extract<CircuitBreakerEventName, `circuit:${string}`>): void {
    if (this.#events.has(event)) this.#events.emit(event, this.name, this.#snapshot());
  }

  /** The timer that half-opens the circuit at `until`; it never keeps the process alive. */
  #armReopen(until: number, at: number): void {
    const timer = setTimeout(() => this.#onReopenTimer(), Math.max(0, until - at));
    if (typeof timer === 'object') timer.unref?.();
    this.#reopenTimer = timer;
  }

  #clearReopenTimer(): void {
    if (this.#reopenTimer !== null) {
      clearTimeout(this.#reopenTimer);
      this.#reopenTimer = null;
    }
  }

  #snapshot(): CircuitBreakerStats {
    const phase = this.#phase;
    const nextAttempt = phase.kind === CircuitState.OPEN ? phase.until : null;
    return this.#counters.snapshot(this.name, phase.kind, nextAttempt);
  }
}
