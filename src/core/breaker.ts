import { mergeConfig } from './config.js';
import { CircuitOpenError, TimeoutError, toError } from './errors.js';
import { Events } from './events.js';
import { FallbackCache, MISS } from './fallback.js';
import { Call, failure, handBack, pendingOf, success } from './call.js';
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
import { Bulkhead, BulkheadRejectedError } from '../policies/bulkhead.js';
import type { Policies } from '../policies/compose.js';
import { RetryBudget, type Tries } from '../policies/retry.js';
import type { RetryPlan } from '../policies/retry-options.js';
import { countsAsFailure, ignoredFailure, isBadResult, ResultFailureError, wasIgnored } from '../policies/outcome.js';
import { openPeriod, requestedPause } from '../policies/open-period.js';
import { RateWindow, SlowWatch, wantsRates } from '../policies/rate-window.js';

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

/** The slots and waiting line of an executor's calls. */
type CallBulkhead = Bulkhead<Call, (signal?: AbortSignal) => unknown>;

const CLOSED_PHASE: Phase = Object.freeze({ kind: CircuitState.CLOSED });

// What ending a call's slow watch found (shared, so ending one allocates nothing).
const SEEN_SLOW = Object.freeze({ seen: true, slow: true });
const UNSEEN_SLOW = Object.freeze({ seen: false, slow: true });
const UNSEEN_FAST = Object.freeze({ seen: false, slow: false });

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
export class Breaker implements Tries {
  readonly name: string;
  /** The retry and fallback the configuration sets; null for neither (the plain path). */
  policies: Policies | null = null;
  #config: Readonly<CircuitBreakerConfig>;
  readonly #now: () => number;
  readonly #host: BreakerHost;
  #events: Events;
  // Made on first need: most breakers never fail, many never cache, and a breaker that
  // only ever sees synchronous calls never needs deadlines.
  #window: FailureWindow | null = null;
  #cache: FallbackCache | null = null;
  #deadlines: DeadlineQueue<Call | SlowWatch<Call>> | null = null;
  /** The failure-rate and slow-call tallies; only while a rate rule is on. */
  #rates: RateWindow | null = null;
  /** Reopenings from HALF_OPEN since the circuit last closed: how much the open period has grown. */
  #reopenings = 0;
  /**
   * The last fn run and whether it declares a parameter. `fn.length` is a native getter,
   * about 10 ns: a stable fn is asked once, a fresh closure pays one comparison more.
   */
  #lastFn: Function | null = null;
  #lastWantsSignal = false;
  /** Asked before each half-open probe, when breakers are coordinated beyond this process. */
  #gate: ProbeGate | null = null;

  #phase: Phase = CLOSED_PHASE;
  #generation = 0;
  /** Moves OPEN to HALF_OPEN on time; only armed while OPEN on its own timer. */
  #reopenTimer: ReturnType<typeof setTimeout> | undefined;

  #counters = new Counters();

  /** The bulkhead; null while `maxConcurrent` is Infinity. */
  #bulkhead: CallBulkhead | null = null;
  /** Set while waiting calls are being started, so that a start within a start only queues. */
  #draining = false;
  #retryBudget: RetryBudget | null = null;

  constructor(name: string, config: Readonly<CircuitBreakerConfig>, host: BreakerHost) {
    this.name = name;
    this.#config = config;
    this.#now = host.now;
    this.#host = host;
    this.#events = host.events;
    this.#applyPolicies(config);
    if (wantsRates(config)) this.#rates = new RateWindow(config.failureWindow);
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
    this.#applyPolicies(config);
    // A new span starts the rate window afresh: its buckets are cut to the old one.
    if (!wantsRates(config)) this.#rates = null;
    else if (this.#rates?.span !== config.failureWindow) this.#rates = new RateWindow(config.failureWindow);
  }

  /**
   * Runs `fn` if the circuit admits it; `fn` and options are already validated. A null
   * `cacheKey` keeps the call away from the fallback cache (neither stored nor answered).
   */
  execute(
    fn: (signal?: AbortSignal) => unknown,
    cacheKey: string | null | undefined,
    callerSignal: AbortSignal | undefined,
    callTimeout?: number,
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
          // A gate that moved the circuit (openCircuit from tryAcquire) granted a probe of a
          // period that is over: the grant goes back, and the call meets the circuit as it is.
          if (this.#phase !== phase) {
            handBack(gate);
            return this.execute(fn, cacheKey, callerSignal, callTimeout);
          }
        }
        phase.probes++;
      }
    }
    const timeout = callTimeout === undefined ? this.#config.requestTimeout : callTimeout;
    const call = new Call(this.#generation, now, timeout === Infinity ? 0 : timeout, phase.kind, cacheKey);
    call.gate = gate;
    if (callerSignal?.aborted) return Promise.resolve(this.#abandon(call, callerSignal.reason, false));
    if (this.#bulkhead !== null && !this.#enter(call)) return this.#queue(call, fn, callerSignal, now);

    let value: unknown;
    try {
      // An AbortController costs more than the rest of the call, so only a fn that declares
      // a parameter gets one.
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
    if (this.#config.slowCallDuration !== Infinity && phase.kind === CircuitState.CLOSED) this.#watchSlow(call, now);

    if (timeout === Infinity && callerSignal === undefined) {
      // Nothing can settle the call early, so fn's own promise carries the result.
      return pending.then(
        (data) => this.#settle(call, true, data),
        (error) => this.#settle(call, false, error),
      );
    }
    const result = call.result();
    if (timeout !== Infinity) this.#deadlineQueue().add(call);
    if (callerSignal !== undefined) this.#link(call, callerSignal);
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
    if (this.#phase.kind === CircuitState.CLOSED) {
      this.#window?.clear();
      this.#rates?.clear();
    } else this.#transition(CLOSED_PHASE, this.#now());
  }

  /** Back to the initial state: CLOSED, every counter zero, cache empty; configuration kept. */
  reset(): void {
    const wasClosed = this.#phase.kind === CircuitState.CLOSED;
    this.#clearReopenTimer();
    this.#phase = CLOSED_PHASE;
    this.#generation++;
    this.#window?.clear();
    this.#rates?.clear();
    this.#reopenings = 0;
    this.#cache = null;
    this.#counters = new Counters();
    this.#retryBudget = null;
    // Whoever watches for the circuit to close learns that it did.
    if (!wasClosed) this.#announce('circuit:closed');
  }

  /**
   * Stops every timer and detaches from the registry's events. Calls still running settle
   * with their own outcome, but no longer time out and no longer touch any state.
   */
  destroy(): void {
    this.#dismissWaiting();
    this.#clearReopenTimer();
    this.#deadlines?.clear();
    this.#gate = null;
    this.#lastFn = null;
    this.#generation++;
    this.#phase = CLOSED_PHASE;
    this.#events = DETACHED;
  }

  /** Whether `fn` gets the call's signal (it declares a parameter), remembered for the next call. */
  #inspect(fn: Function): boolean {
    this.#lastFn = fn;
    return (this.#lastWantsSignal = fn.length !== 0);
  }

  /** The executor's deadline queue: calls' timeouts and the moments watched calls become slow. */
  #deadlineQueue(): DeadlineQueue<Call | SlowWatch<Call>> {
    return (this.#deadlines ??= new DeadlineQueue<Call | SlowWatch<Call>>(this.#now, this.#host.arming, (entry, now) =>
      entry instanceof SlowWatch ? this.#onSlow(entry.call, now) : this.#expire(entry, now),
    ));
  }

  /** Watches a running call admitted while CLOSED, to count it slow once it runs slowCallDuration. */
  #watchSlow(call: Call, now: number): void {
    call.watch = new SlowWatch(call, now + this.#config.slowCallDuration);
    this.#deadlineQueue().add(call.watch);
  }

  /**
   * A watched call is still running at slowCallDuration: it counts as slow from now on.
   * Only calls admitted while CLOSED are watched, and every change of state starts a new
   * generation, so a call of the current generation means the circuit is still CLOSED.
   */
  #onSlow(call: Call, now: number): void {
    const rates = this.#rates;
    if (rates === null || call.generation !== this.#generation) return;
    rates.markSlow(now);
    if (rates.trips(this.#config)) this.#tripOpen(now, null);
  }

  /**
   * Ends the slow watch of a call that settled: whether it was already seen as slow, and
   * whether it ran slowCallDuration or more.
   */
  #endWatch(watch: SlowWatch<Call>, now: number): { seen: boolean; slow: boolean } {
    if (watch.done) return SEEN_SLOW;
    this.#deadlines!.settle(watch);
    return now >= watch.deadline ? UNSEEN_SLOW : UNSEEN_FAST;
  }

  /** Tallies a call of the current CLOSED period in the rate window; opens if a rate rule says so. */
  #rate(call: Call, failed: boolean, now: number): boolean {
    const rates = this.#rates!;
    const watched = call.watch === null ? UNSEEN_FAST : this.#endWatch(call.watch, now);
    rates.complete(now, failed, watched.seen, watched.slow);
    return rates.trips(this.#config);
  }

  #reject(
    phase: Exclude<Phase, { kind: CircuitState.CLOSED }>,
    cacheKey: string | null | undefined,
    now: number,
  ): Promise<ExecutionResult<unknown>> {
    // #rejection and #refuse, written out: the hot copy of the rejection, kept whole so that
    // V8 inlines it into execute() (through the helpers, a cached answer cost 1.3x as much).
    this.#counters.rejected++;
    this.#events.emit('request:rejected', this.name);
    // No cache exists while cacheFallback is off: turning it off drops the one there was.
    if (cacheKey !== null && this.#cache !== null) {
      const cached = this.#cache.lookup(cacheKey, now, this.#config.fallbackMaxAge);
      if (cached !== MISS) {
        this.#events.emit('fallback:used', this.name);
        return Promise.resolve(success(cached, true, phase.kind, 0));
      }
    }
    return Promise.resolve(failure(phase.rejection ?? this.#openError(phase), true, phase.kind, 0));
  }

  /** The result of a call the circuit refuses. */
  #rejection(
    phase: Exclude<Phase, { kind: CircuitState.CLOSED }>,
    cacheKey: string | null | undefined,
    now: number,
  ): ExecutionResult<unknown> {
    const cached = this.#refuse(cacheKey, now);
    return cached === MISS
      ? failure(phase.rejection ?? this.#openError(phase), true, phase.kind, 0)
      : success(cached, true, phase.kind, 0);
  }

  /** The error every call refused in this period shares, made on the first refusal. */
  #openError(phase: Exclude<Phase, { kind: CircuitState.CLOSED }>): CircuitOpenError {
    return (phase.rejection =
      phase.kind === CircuitState.OPEN
        ? new CircuitOpenError(this.name, phase.until === null ? null : new Date(phase.until))
        : new CircuitOpenError(this.name, null, true));
  }

  /** Counts a refused call; the value the fallback cache answers it with, or MISS. */
  #refuse(cacheKey: string | null | undefined, now: number): unknown {
    this.#counters.rejected++;
    this.#events.emit('request:rejected', this.name);
    if (cacheKey === null || this.#cache === null) return MISS;
    const cached = this.#cache.lookup(cacheKey, now, this.#config.fallbackMaxAge);
    if (cached !== MISS) this.#events.emit('fallback:used', this.name);
    return cached;
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
    if (this.#bulkhead?.withdraw(call) === true) {
      // It timed out waiting for a slot: the service never saw it.
      call.detach();
      call.resolve!(this.#abandon(call, error, false));
      return;
    }
    call.controller?.abort(error);
    call.detach();
    call.resolve!(this.#settle(call, false, error, now, true));
  }

  #onCallerAbort(call: Call): void {
    if (call.done) return;
    if (call.timeout !== 0) this.#deadlines!.settle(call);
    else call.done = true;
    const reason: unknown = call.link!.signal.reason;
    call.controller?.abort(reason);
    const waited = this.#bulkhead?.withdraw(call) === true;
    call.resolve!(this.#abandon(call, reason, !waited));
  }

  /**
   * Accounts for a call's outcome and returns its result. `timedOut`: the payload is the
   * breaker's own TimeoutError, which no predicate is asked about.
   */
  #settle(call: Call, ok: boolean, payload: unknown, now = this.#now(), timedOut = false): ExecutionResult<unknown> {
    const time = Math.max(0, now - call.start); // a registry clock may step back
    if (call.gate !== null) call.releaseGate();
    const judge = this.#config.isResultFailure;
    if (ok && (judge === undefined || !isBadResult(judge, payload))) {
      this.#counters.succeeded(now, time, call.generation === this.#generation);
      if (this.#config.cacheFallback && call.cacheKey !== null) {
        (this.#cache ??= new FallbackCache(this.#config.fallbackMaxEntries)).store(call.cacheKey, payload, now);
      }
      this.#events.emit('request:success', this.name, time);
      // Checked after the event: a listener may have moved the circuit on.
      this.#healthy(call, now);
      if (call.slot !== null) this.#leave(call);
      return success(payload, false, call.admittedIn, time);
    }
    const result = this.#failed(call, ok ? new ResultFailureError(payload) : payload, ok, timedOut, now, time);
    // After the accounting: leaving may start a waiting call at once.
    if (call.slot !== null) this.#leave(call);
    return result;
  }

  /**
   * A call that failed: `payload` is what fn threw, the breaker's TimeoutError (`timedOut`),
   * or the ResultFailureError of a bad value (`judged`: isFailure is not asked about it).
   * Apart from the success path so that the path every call takes stays small.
   */
  #failed(call: Call, payload: unknown, judged: boolean, timedOut: boolean, now: number, time: number): ExecutionResult<unknown> {
    const config = this.#config;
    const error = toError(payload);
    if (!judged && !timedOut && config.isFailure !== undefined && !countsAsFailure(config.isFailure, payload)) {
      this.#counters.ignoredFailure(time);
      this.#events.emit('request:failure', this.name, error);
      this.#healthy(call, now);
      return ignoredFailure(failure(error, false, call.admittedIn, time));
    }
    this.#counters.failedAfter(now, time, call.generation === this.#generation);
    this.#events.emit('request:failure', this.name, error);
    // Asked first: the user's code may move the circuit, which makes this call's period past.
    const pause =
      timedOut || config.retryAfter === undefined || call.generation !== this.#generation
        ? null
        : requestedPause(config, payload, now);
    if (call.generation === this.#generation) {
      const phase = this.#phase;
      if (phase.kind === CircuitState.HALF_OPEN) this.#tripOpen(now, pause);
      else {
        // Every rule tallies the failure, then any of them may open.
        const byCount =
          config.failureThreshold !== Infinity &&
          (this.#window ??= new FailureWindow(config.failureThreshold, config.failureWindow)).record(now);
        let byRate = false;
        if (this.#rates !== null) byRate = this.#rate(call, true, now);
        else if (call.watch !== null) this.#endWatch(call.watch, now);
        if (byCount || byRate || pause !== null) this.#tripOpen(now, pause);
      }
    } else if (call.watch !== null) this.#endWatch(call.watch, now);
    return failure(error, false, call.admittedIn, time);
  }

  /**
   * A healthy answer (a success, or a failure `isFailure` does not count) of a call that
   * settled. Checked after the call's event: a listener may have moved the circuit on.
   * A call of the current generation that is not a probe was admitted while CLOSED, and
   * the circuit is CLOSED still: every change of state starts a new generation.
   */
  #healthy(call: Call, now: number): void {
    const phase = this.#phase;
    if (call.generation === this.#generation) {
      if (phase.kind === CircuitState.HALF_OPEN) {
        phase.probes--;
        if (++phase.successes >= this.#config.successThreshold) this.#transition(CLOSED_PHASE, now);
        return;
      }
      if (this.#rates !== null) {
        if (this.#rate(call, false, now)) this.#tripOpen(now, null);
        return;
      }
    }
    if (call.watch !== null) this.#endWatch(call.watch, now);
  }

  /** The caller gave up on the call: a failed request, but not the service's failure. */
  #abandon(call: Call, reason: unknown, ran: boolean): ExecutionResult<unknown> {
    const now = this.#now();
    const time = ran ? Math.max(0, now - call.start) : 0;
    if (call.gate !== null) call.releaseGate();
    if (call.watch !== null) this.#endWatch(call.watch, now);
    this.#counters.abandoned(time, ran);
    const phase = this.#phase;
    if (call.generation === this.#generation && phase.kind === CircuitState.HALF_OPEN) phase.probes--;
    const error = toError(reason);
    this.#events.emit('request:failure', this.name, error);
    if (call.slot !== null) this.#leave(call);
    return failure(error, false, call.admittedIn, time);
  }

  /** Opens on the rules; `pause`: the ms the service asked for, in place of the open period. */
  #tripOpen(now: number, pause: number | null): void {
    if (this.#phase.kind === CircuitState.HALF_OPEN) this.#reopenings++;
    const period = pause ?? openPeriod(this.#config, this.#reopenings);
    this.#transition({ kind: CircuitState.OPEN, until: now + period, rejection: null }, now);
  }

  /** OPEN on its own timer becomes HALF_OPEN once its time has come. */
  #refresh(now: number): void {
    const phase = this.#phase;
    if (phase.kind === CircuitState.OPEN && phase.until !== null && now >= phase.until) {
      this.#transition({ kind: CircuitState.HALF_OPEN, probes: 0, successes: 0, rejection: null }, phase.until);
    }
  }

  #onReopenTimer(): void {
    this.#reopenTimer = undefined;
    // Its time has come, even when the timer fires a hair before the clock agrees: the
    // half-open period starts at the open period's `until` whatever the clock says.
    this.#refresh(Infinity);
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
        this.#rates?.clear();
        this.#reopenings = 0;
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
    timer.unref?.(); // absent where timers are numbers
    this.#reopenTimer = timer;
  }

  #clearReopenTimer(): void {
    clearTimeout(this.#reopenTimer);
    this.#reopenTimer = undefined;
  }

  #snapshot(): CircuitBreakerStats {
    const phase = this.#phase;
    const nextAttempt = phase.kind === CircuitState.OPEN ? phase.until : null;
    return this.#counters.snapshot(this.name, phase.kind, nextAttempt);
  }

  // ---- composition: retry bookkeeping and the bulkhead (src/policies/) ----

  /** Whether a failed result counted against the circuit: not one `isFailure` waved through. */
  counted(result: ExecutionResult<unknown>): boolean {
    return !result.success && !wasIgnored(result);
  }

  /** Counts the first try of a call that may be retried, for the retry budget. */
  firstTry(): void {
    (this.#retryBudget ??= new RetryBudget()).first(this.#now(), this.#config.failureWindow);
  }

  /** Asks the retry budget for one more retry, and counts it if granted. */
  mayRetry(): boolean {
    const { failureWindow, retryBudget } = this.#config;
    return (this.#retryBudget ??= new RetryBudget()).tryRetry(this.#now(), failureWindow, retryBudget);
  }

  /** A retry is about to be made. */
  retried(attempt: number, error: Error, delayMs: number): void {
    this.#counters.retries++;
    this.#events.emit('request:retry', this.name, attempt, error, delayMs);
  }

  /** What the configuration sets beyond the circuit: retry, fallback, the bulkhead. */
  #applyPolicies(config: Readonly<CircuitBreakerConfig>): void {
    const retry = (config.retry ?? false) as RetryPlan | false;
    this.policies =
      retry === false && config.fallback === undefined
        ? null
        : { retry: retry === false ? null : retry, fallback: config.fallback };
    const bulkhead = this.#bulkhead;
    if (bulkhead === null) {
      if (config.maxConcurrent !== Infinity) this.#bulkhead = new Bulkhead(config.maxConcurrent, config.maxQueue);
      return;
    }
    bulkhead.resize(config.maxConcurrent, config.maxQueue);
    // More room: waiting calls start now. With no limit left, none waits, and the calls
    // that still hold a slot hand it back to a bulkhead nobody asks any more.
    this.#drain(bulkhead);
    if (config.maxConcurrent === Infinity) this.#bulkhead = null;
  }

  /** Takes a bulkhead slot for `call` if one is free. */
  #enter(call: Call): boolean {
    const bulkhead = this.#bulkhead!;
    if (!bulkhead.tryEnter()) return false;
    call.slot = bulkhead;
    return true;
  }

  /** Hands `call`'s slot back and starts whoever waits for it. */
  #leave(call: Call): void {
    const slot = call.slot!;
    call.slot = null;
    slot.leave();
    // A slot of a bulkhead since removed has nobody waiting behind it.
    const bulkhead = this.#bulkhead;
    if (slot === bulkhead) this.#drain(bulkhead);
  }

  /**
   * Every slot is taken: `call` waits in line, keeping its deadline and the caller's signal,
   * or is refused when the line is full. A waiting call stands outside the circuit: a probe
   * slot taken for it is handed back, and the circuit is asked again when its turn comes.
   */
  #queue(
    call: Call,
    fn: (signal?: AbortSignal) => unknown,
    callerSignal: AbortSignal | undefined,
    now: number,
  ): Promise<ExecutionResult<unknown>> {
    const bulkhead = this.#bulkhead!;
    const phase = this.#phase;
    if (call.generation === this.#generation && phase.kind === CircuitState.HALF_OPEN) phase.probes--;
    if (call.gate !== null) call.releaseGate();
    // A generation no period has: until admitted, the call can move no state.
    call.generation = -1;
    if (!bulkhead.wait(call, fn)) {
      const cached = this.#refuse(call.cacheKey, now);
      return Promise.resolve(
        cached === MISS
          ? failure(bulkhead.error(this.name), true, call.admittedIn, 0)
          : success(cached, true, call.admittedIn, 0),
      );
    }
    const result = call.result();
    if (call.timeout !== 0) this.#deadlineQueue().add(call);
    if (callerSignal !== undefined) this.#link(call, callerSignal);
    return result;
  }

  /** Starts waiting calls while slots are free, first come first. */
  #drain(bulkhead: CallBulkhead): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let next = bulkhead.next(); next !== null; next = bulkhead.next()) this.#start(next[0], next[1]);
    } finally {
      this.#draining = false;
    }
  }

  /** A waiting call's turn: the circuit is asked again, then `fn` runs in a slot. */
  #start(call: Call, fn: (signal?: AbortSignal) => unknown): void {
    const now = this.#now();
    if (call.timeout !== 0 && now >= call.deadline) {
      // Its deadline came with the slot (both at one tick): it times out without running.
      this.#deadlines!.settle(call);
      call.detach();
      call.resolve!(this.#abandon(call, new TimeoutError(this.name, call.timeout), false));
      return;
    }
    this.#refresh(now);
    const phase = this.#phase;
    let gate: ProbeGate | null = null;
    if (phase.kind !== CircuitState.CLOSED) {
      const refused =
        phase.kind === CircuitState.OPEN ||
        phase.probes >= this.#config.successThreshold ||
        (this.#gate !== null && !grants((gate = this.#gate)));
      if (refused) {
        const result = this.#rejection(phase, call.cacheKey, now);
        if (call.timeout !== 0) this.#deadlines!.settle(call);
        else call.done = true;
        call.detach();
        call.resolve!(result);
        return;
      }
      phase.probes++;
      call.gate = gate;
    }
    call.generation = this.#generation;
    call.admittedIn = phase.kind;
    this.#enter(call);
    // Runs fn as execute() does; execute keeps its copy inline, being the hot path.
    let value: unknown;
    try {
      if (this.#inspect(fn)) {
        call.controller = new AbortController();
        value = fn(call.controller.signal);
      } else {
        value = fn();
      }
    } catch (thrown) {
      this.#finish(call, false, thrown);
      return;
    }
    const pending = pendingOf(value);
    if (pending === null) {
      this.#finish(call, true, value);
      return;
    }
    // Slow from its own start: the time it waited for a slot is the bulkhead's, not the service's.
    if (this.#config.slowCallDuration !== Infinity && phase.kind === CircuitState.CLOSED) this.#watchSlow(call, now);
    pending.then((data) => this.#finish(call, true, data), (error) => this.#finish(call, false, error));
  }

  /** On destroy: calls still waiting get a rejection, since no slot will ever free for them. */
  #dismissWaiting(): void {
    const bulkhead = this.#bulkhead;
    if (bulkhead === null) return;
    const error = new BulkheadRejectedError(
      this.name,
      this.#config.maxConcurrent,
      this.#config.maxQueue,
      `Executor "${this.name}" was destroyed while the call waited for a slot`,
    );
    for (const call of bulkhead.clear()) {
      call.done = true;
      call.detach();
      call.resolve!(failure(error, true, call.admittedIn, 0));
    }
  }

  /** Listens to the caller's signal for `call`. */
  #link(call: Call, signal: AbortSignal): void {
    const listener = (): void => this.#onCallerAbort(call);
    call.link = { signal, listener };
    signal.addEventListener('abort', listener, { once: true });
  }
}
