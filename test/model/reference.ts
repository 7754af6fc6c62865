/**
 * A reference model of the circuit breaker, written from /work/shared/CONTRACT.md and
 * docs/decisions.md alone. It imports nothing from src/: it is a plain, deliberately
 * naive restatement of the rules (arrays filtered on every failure, a Map for the LRU),
 * so that it is easy to check by reading and shares no code or structure with the
 * implementation it is compared with.
 *
 * The model is driven by the same commands as the real registry (see harness.ts) and
 * says, after each one, what the world must look like: every breaker's state and
 * statistics, every event in order, every call's result, how many timers are pending.
 *
 * Time: the model keeps its own clock. `advance(ms)` plays, in time order, everything the
 * contract says happens on time: a running call times out exactly at `start +
 * requestTimeout`, an OPEN circuit half-opens exactly at `openedAt + resetTimeout`.
 *
 * A new failureThreshold or failureWindow is judged at the instant of `configure`, as
 * docs/decisions.md says: a failure that aged out under the old window stays out, and of
 * the rest the most recent that fit are kept. See {@link ModelBreaker.resizeWindow}.
 *
 * The policies (POLICIES.md sections 1 and 2, docs/decisions.md): every call the rate rules
 * see is kept as a record with its time, and the window is recomputed from all of them on
 * each judgement (a record counts while `floor(t / (failureWindow / 10))` is one of the
 * last ten such buckets). A running call admitted while CLOSED becomes slow exactly at
 * `start + slowCallDuration`, played by `advance` like a timeout (and before one at the
 * same instant).
 */

export type State = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface Config {
  failureThreshold: number;
  failureWindow: number;
  resetTimeout: number;
  successThreshold: number;
  requestTimeout: number;
  cacheFallback: boolean;
  fallbackMaxAge: number;
  fallbackMaxEntries: number;
  isFailure?: ((error: unknown) => boolean) | undefined;
  isResultFailure?: ((value: unknown) => boolean) | undefined;
  failureRateThreshold?: number | undefined;
  minimumRequests: number;
  slowCallDuration: number;
  slowCallRateThreshold: number;
  resetTimeoutMultiplier: number;
  maxResetTimeout: number;
  resetTimeoutJitter: number;
  retryAfter?: ((error: unknown) => number | Date | undefined) | undefined;
}

/** The seed document's defaults, and those of POLICIES.md. */
export const BUILT_IN_DEFAULTS: Readonly<Config> = Object.freeze({
  failureThreshold: 5,
  failureWindow: 60_000,
  resetTimeout: 30_000,
  successThreshold: 2,
  requestTimeout: 10_000,
  cacheFallback: true,
  fallbackMaxAge: 300_000,
  fallbackMaxEntries: 100,
  minimumRequests: 10,
  slowCallDuration: Infinity,
  slowCallRateThreshold: 1,
  resetTimeoutMultiplier: 1,
  maxResetTimeout: 600_000,
  resetTimeoutJitter: 0,
});

const MAX_DELAY = 2147483647;

/** What an error in a result or a `request:failure` event must be. */
export type ErrorSpec =
  /** `fn` threw or rejected with `value` (or the caller aborted with it): the same Error, or a wrapper with it as `cause`. */
  | { kind: 'thrown'; value: unknown }
  | { kind: 'timeout'; executorName: string; timeout: number }
  /** isResultFailure judged `value` a failure: a ResultFailureError carrying it. */
  | { kind: 'result'; value: unknown }
  /** `period` names the open (or half-open) period: one error object per period. */
  | { kind: 'open'; executorName: string; nextAttemptTime: number | null; period: string };

export interface ResultSpec {
  success: boolean;
  data?: unknown;
  error?: ErrorSpec;
  fromCache: boolean;
  rejected: boolean;
  circuitState: State;
  executionTime: number;
  /** When the result is handed out (fake clock). */
  at: number;
}

/** Statistics with dates as ms (or null). */
export interface StatsSpec {
  executorName: string;
  state: State;
  totalRequests: number;
  successfulRequests: number;
  failedRequests: number;
  rejectedRequests: number;
  ignoredFailures: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  timesOpened: number;
  timesClosed: number;
  lastStateChange: number | null;
  lastFailureTime: number | null;
  lastSuccessTime: number | null;
  nextAttemptTime: number | null;
  avgResponseTime: number;
}

export type StateEventName = 'circuit:opened' | 'circuit:closed' | 'circuit:half-open';

export type EventSpec =
  | { event: StateEventName; name: string; at: number; stats: StatsSpec }
  | { event: 'request:success'; name: string; at: number; executionTime: number }
  | { event: 'request:failure'; name: string; at: number; error: ErrorSpec }
  | { event: 'request:rejected' | 'fallback:used'; name: string; at: number };

/** What `fn` does when it is called. */
export type Behaviour =
  /** Returns a value, or a promise / thenable that is already resolved: a success at once. */
  | { kind: 'returns'; value: unknown }
  /** Throws, or returns a promise / thenable already rejected: a failure at once. */
  | { kind: 'throws'; value: unknown }
  /** Returns a promise that settles only when the test says so ({@link ReferenceModel.settle}). */
  | { kind: 'pending' };

export interface CallOptions {
  cacheKey?: string;
  /** The caller's signal had already aborted with this reason. */
  abortedBefore?: { reason: unknown };
  /** options.timeout */
  timeout?: number;
}

/** A call the rate rules saw: completed (maybe failed), and/or seen (maybe slow). */
interface RateRecord {
  t: number;
  completed: number;
  failed: number;
  seen: number;
  slow: number;
}

/** A predicate's answer; one that throws is as if it were not configured. */
function ask<T>(predicate: (x: unknown) => T, x: unknown, otherwise: T): T {
  try {
    return predicate(x);
  } catch {
    return otherwise;
  }
}

/** What the model says about a call right after `execute` returned. */
export interface Admission {
  /** Whether `fn` is called. */
  invoked: boolean;
}

interface CacheEntry {
  value: unknown;
  at: number;
}

let breakerIds = 0;

class ModelBreaker {
  readonly id = ++breakerIds;
  state: State = 'CLOSED';
  /** OPEN on its own timer: when it half-opens. null: not OPEN, or held open by hand. */
  until: number | null = null;
  /** Bumped by every transition and by reset: a call only moves the period it started in. */
  generation = 0;
  /** Bumped whenever the open / half-open period changes (even when held by hand): one rejection error per period. */
  period = 0;
  probesInFlight = 0;
  probeSuccesses = 0;
  /** Failure times still kept, oldest first. */
  failures: number[] = [];
  /** Every call the rate rules saw since they were last emptied. */
  rates: RateRecord[] = [];
  /** Reopenings from HALF_OPEN since the circuit last closed. */
  reopenings = 0;
  ignored = 0;

  successful = 0;
  failed = 0;
  rejected = 0;
  consecutiveFailures = 0;
  consecutiveSuccesses = 0;
  timesOpened = 0;
  timesClosed = 0;
  lastStateChange: number | null = null;
  lastFailure: number | null = null;
  lastSuccess: number | null = null;
  ran = 0;
  totalTime = 0;

  cacheDefault: CacheEntry | null = null;
  /** Keyed entries, least recently used first. */
  cacheKeyed = new Map<string, CacheEntry>();

  constructor(
    readonly name: string,
    public config: Config,
  ) {}

  snapshot(): StatsSpec {
    return {
      executorName: this.name,
      state: this.state,
      totalRequests: this.successful + this.failed + this.rejected,
      successfulRequests: this.successful,
      failedRequests: this.failed,
      rejectedRequests: this.rejected,
      ignoredFailures: this.ignored,
      consecutiveFailures: this.consecutiveFailures,
      consecutiveSuccesses: this.consecutiveSuccesses,
      timesOpened: this.timesOpened,
      timesClosed: this.timesClosed,
      lastStateChange: this.lastStateChange,
      lastFailureTime: this.lastFailure,
      lastSuccessTime: this.lastSuccess,
      nextAttemptTime: this.state === 'OPEN' ? this.until : null,
      avgResponseTime: this.ran === 0 ? 0 : this.totalTime / this.ran,
    };
  }

  ratesOn(): boolean {
    return this.config.failureRateThreshold !== undefined || this.config.slowCallDuration !== Infinity;
  }

  /** Adds a rate record at `now` and says whether a rate rule opens, over the last ten buckets. */
  recordRate(now: number, r: Omit<RateRecord, 't'>): boolean {
    this.rates.push({ t: now, ...r });
    const width = this.config.failureWindow / 10;
    const newest = Math.floor(now / width);
    const live = this.rates.filter((x) => Math.floor(x.t / width) > newest - 10);
    const sum = (k: keyof RateRecord) => live.reduce((n, x) => n + x[k], 0);
    const { failureRateThreshold, minimumRequests, slowCallDuration, slowCallRateThreshold } = this.config;
    const completed = sum('completed');
    const seen = sum('seen');
    if (failureRateThreshold !== undefined && completed >= minimumRequests && sum('failed') / completed >= failureRateThreshold) {
      return true;
    }
    return slowCallDuration !== Infinity && seen >= minimumRequests && sum('slow') / seen >= slowCallRateThreshold;
  }

  /** The open period after `reopenings` reopenings (no jitter: the generators leave it 0). */
  openPeriod(): number {
    const { resetTimeout, resetTimeoutMultiplier, maxResetTimeout, resetTimeoutJitter } = this.config;
    if (resetTimeoutJitter !== 0) throw new Error('model: jitter is not modelled');
    if (this.reopenings === 0) return resetTimeout;
    return Math.min(Math.round(resetTimeout * resetTimeoutMultiplier ** this.reopenings), Math.max(maxResetTimeout, resetTimeout));
  }

  /** What retryAfter asks for, in ms from `now`, capped; null for nothing. */
  pause(error: unknown, now: number): number | null {
    const retryAfter = this.config.retryAfter;
    if (retryAfter === undefined) return null;
    const answer = ask(retryAfter, error, undefined);
    const ms = typeof answer === 'number' ? answer : answer instanceof Date ? answer.getTime() - now : NaN;
    if (!(ms > 0)) return null;
    return Math.min(Math.ceil(ms), Math.max(this.config.maxResetTimeout, this.config.resetTimeout));
  }

  /** Records a failure at `now`; whether the window now holds failureThreshold failures. */
  recordFailure(now: number): boolean {
    const { failureThreshold, failureWindow } = this.config;
    this.failures.push(now);
    this.failures = this.failures.filter((f) => now - f < failureWindow);
    while (this.failures.length > failureThreshold) this.failures.shift();
    return this.failures.length >= failureThreshold;
  }

  /**
   * A new threshold or window at `now`: what aged out under the old window stays out; of the
   * rest, the most recent failures that fit the new one are kept.
   */
  resizeWindow(now: number, oldWindow: number): void {
    const { failureThreshold, failureWindow } = this.config;
    this.failures = this.failures.filter((f) => now - f < oldWindow && now - f < failureWindow);
    while (this.failures.length > failureThreshold) this.failures.shift();
  }

  cacheStore(key: string | undefined, value: unknown, now: number): void {
    if (key === undefined) {
      this.cacheDefault = { value, at: now };
      return;
    }
    this.cacheKeyed.delete(key);
    this.cacheKeyed.set(key, { value, at: now });
    this.trimCache();
  }

  /** The cached value for `key` if younger than fallbackMaxAge; a hit or a stale entry counts as a use. */
  cacheLookup(key: string | undefined, now: number): { hit: true; value: unknown } | { hit: false } {
    const maxAge = this.config.fallbackMaxAge;
    if (key === undefined) {
      const entry = this.cacheDefault;
      if (entry !== null && now - entry.at < maxAge) return { hit: true, value: entry.value };
      this.cacheDefault = null;
      return { hit: false };
    }
    const entry = this.cacheKeyed.get(key);
    if (entry === undefined) return { hit: false };
    this.cacheKeyed.delete(key);
    if (now - entry.at < maxAge) {
      this.cacheKeyed.set(key, entry); // most recently used now
      return { hit: true, value: entry.value };
    }
    return { hit: false };
  }

  trimCache(): void {
    while (this.cacheKeyed.size > this.config.fallbackMaxEntries) {
      const oldest = this.cacheKeyed.keys().next().value as string;
      this.cacheKeyed.delete(oldest);
    }
  }

  clearCache(): void {
    this.cacheDefault = null;
    this.cacheKeyed.clear();
  }
}

interface ModelCall {
  readonly id: number;
  readonly breaker: ModelBreaker;
  readonly generation: number;
  readonly start: number;
  /** When it times out; Infinity for never. */
  readonly deadline: number;
  /** When it becomes slow (watched: admitted while CLOSED, slow-call rule on, not settled at once); Infinity for never. */
  slowAt: number;
  /** Whether it passed slowAt while running. */
  slowSeen: boolean;
  readonly admittedIn: State;
  readonly cacheKey: string | undefined;
  /** Running: started and not yet given a result. */
  running: boolean;
}

export class ReferenceModel {
  now: number;
  readonly defaults: Config;
  /** Live breakers in creation order. */
  readonly breakers = new Map<string, ModelBreaker>();
  /** Breakers removed by destroy(): their calls still settle, but report to nobody. */
  readonly #destroyed = new Set<ModelBreaker>();
  readonly #calls = new Map<number, ModelCall>();
  /** Everything emitted, in order; the harness takes it step by step. */
  events: EventSpec[] = [];
  /** Results handed out, by call id. */
  readonly results = new Map<number, ResultSpec>();
  /** fn invocations, by call id (0 or 1). */
  readonly invocations = new Map<number, number>();

  constructor(now: number, defaults: Partial<Config>) {
    this.now = now;
    this.defaults = { ...BUILT_IN_DEFAULTS, ...defaults };
  }

  // ------------------------------------------------------------------ queries

  state(name: string): State | null {
    return this.breakers.get(name)?.state ?? null;
  }

  stats(name: string): StatsSpec | null {
    return this.breakers.get(name)?.snapshot() ?? null;
  }

  executors(): string[] {
    return [...this.breakers.keys()];
  }

  config(name: string): Config | null {
    return this.breakers.get(name)?.config ?? null;
  }

  /** Calls of live breakers that are running, admitted in the current half-open period. */
  probesInFlight(name: string): number {
    return this.breakers.get(name)?.probesInFlight ?? 0;
  }

  isRunning(id: number): boolean {
    return this.#calls.get(id)?.running ?? false;
  }

  /**
   * Timers that must be pending once the arming turn has passed: one per breaker OPEN on
   * its own timer, one per breaker with running calls that can time out.
   */
  expectedTimers(): number {
    let n = 0;
    for (const b of this.breakers.values()) {
      if (b.state === 'OPEN' && b.until !== null) n++;
      for (const c of this.#calls.values()) {
        if (c.breaker === b && c.running && (c.deadline !== Infinity || (c.slowAt !== Infinity && !c.slowSeen))) {
          n++;
          break;
        }
      }
    }
    return n;
  }

  // ------------------------------------------------------------------ commands

  /** `execute(name, fn, options)` at the current time. */
  execute(id: number, name: string, behaviour: Behaviour, options: CallOptions = {}): Admission {
    const b = this.#findOrCreate(name);
    const now = this.now;
    if (b.state === 'OPEN') return this.#reject(id, b, options.cacheKey);
    if (b.state === 'HALF_OPEN') {
      if (b.probesInFlight >= b.config.successThreshold) return this.#reject(id, b, options.cacheKey);
      b.probesInFlight++;
    }
    const call: ModelCall = {
      id,
      breaker: b,
      generation: b.generation,
      start: now,
      deadline: now + (options.timeout ?? b.config.requestTimeout),
      slowAt: behaviour.kind === 'pending' && b.state === 'CLOSED' ? now + b.config.slowCallDuration : Infinity,
      slowSeen: false,
      admittedIn: b.state,
      cacheKey: options.cacheKey,
      running: true,
    };
    this.#calls.set(id, call);
    if (options.abortedBefore) {
      this.#abandon(call, options.abortedBefore.reason, false);
      return { invoked: false };
    }
    this.invocations.set(id, 1);
    if (behaviour.kind === 'returns') this.#settle(call, true, behaviour.value);
    else if (behaviour.kind === 'throws') this.#settle(call, false, behaviour.value);
    return { invoked: true };
  }

  /** A pending fn settles now. Ignored if the call already has its result (timed out, abandoned). */
  settle(id: number, ok: boolean, payload: unknown): void {
    const call = this.#calls.get(id);
    if (call === undefined || !call.running) return;
    this.#settle(call, ok, payload);
  }

  /** The caller's signal aborts now with `reason`. Ignored if the call already has its result. */
  abort(id: number, reason: unknown): void {
    const call = this.#calls.get(id);
    if (call === undefined || !call.running) return;
    this.#abandon(call, reason, true);
  }

  /** Lets `ms` pass, playing every timeout and half-opening on its due time. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      const next = this.#nextDue();
      if (next === null || next > target) break;
      this.now = next;
      this.#playDue(next);
    }
    this.now = target;
  }

  /**
   * `configure(name, partial)`: true if accepted. A bad partial changes nothing and creates
   * no breaker.
   */
  configure(name: string, partial: unknown): boolean {
    if (!isValidPartial(partial)) return false;
    const b = this.#findOrCreate(name);
    const before = b.config;
    const wasOn = b.ratesOn();
    b.config = { ...b.config, ...(partial as Partial<Config>) };
    b.resizeWindow(this.now, before.failureWindow);
    // The rate window starts afresh when turned on or given a new span, and goes when off.
    if (!b.ratesOn() || !wasOn || b.config.failureWindow !== before.failureWindow) b.rates = [];
    if (b.config.fallbackMaxEntries !== before.fallbackMaxEntries) b.trimCache();
    if (!b.config.cacheFallback) b.clearCache();
    return true;
  }

  openCircuit(name: string): void {
    const b = this.#findOrCreate(name);
    if (b.state === 'OPEN') {
      if (b.until === null) return;
      // Open on its timer: now held, without a second opening.
      b.until = null;
      b.period++;
      return;
    }
    this.#transition(b, 'OPEN', null, this.now);
  }

  closeCircuit(name: string): void {
    const b = this.#findOrCreate(name);
    if (b.state === 'CLOSED') {
      b.failures = [];
      b.rates = [];
    } else this.#transition(b, 'CLOSED', null, this.now);
  }

  reset(name: string): void {
    const b = this.breakers.get(name);
    if (b) this.#reset(b);
  }

  resetAll(): void {
    for (const b of this.breakers.values()) this.#reset(b);
  }

  destroy(): void {
    for (const b of this.breakers.values()) this.#destroyed.add(b);
    this.breakers.clear();
  }

  // ------------------------------------------------------------------ the rules

  #findOrCreate(name: string): ModelBreaker {
    let b = this.breakers.get(name);
    if (!b) {
      b = new ModelBreaker(name, { ...this.defaults });
      this.breakers.set(name, b);
    }
    return b;
  }

  #emit(b: ModelBreaker, event: EventSpec): void {
    if (!this.#destroyed.has(b)) this.events.push(event);
  }

  #reject(id: number, b: ModelBreaker, cacheKey: string | undefined): Admission {
    const now = this.now;
    b.rejected++;
    this.#emit(b, { event: 'request:rejected', name: b.name, at: now });
    const state = b.state;
    if (b.config.cacheFallback) {
      const cached = b.cacheLookup(cacheKey, now);
      if (cached.hit) {
        this.#emit(b, { event: 'fallback:used', name: b.name, at: now });
        this.results.set(id, {
          success: true,
          data: cached.value,
          fromCache: true,
          rejected: true,
          circuitState: state,
          executionTime: 0,
          at: now,
        });
        return { invoked: false };
      }
    }
    this.results.set(id, {
      success: false,
      error: {
        kind: 'open',
        executorName: b.name,
        nextAttemptTime: state === 'OPEN' ? b.until : null,
        period: `${b.id}:${b.period}`,
      },
      fromCache: false,
      rejected: true,
      circuitState: state,
      executionTime: 0,
      at: now,
    });
    return { invoked: false };
  }

  /** A call's own outcome (success, failure, timeout). */
  #settle(call: ModelCall, ok: boolean, payload: unknown, error?: ErrorSpec): void {
    const b = call.breaker;
    const now = this.now;
    const time = Math.max(0, now - call.start);
    call.running = false;
    const current = call.generation === b.generation && !this.#destroyed.has(b);
    b.ran++;
    b.totalTime += time;
    const seen = call.slowSeen;
    const slow = !seen && now >= call.slowAt;
    const { isFailure, isResultFailure } = b.config;
    let spec = error;
    if (ok && isResultFailure !== undefined && ask(isResultFailure, payload, false) === true) {
      ok = false;
      spec = { kind: 'result', value: payload };
    }
    const healthy = (): void => {
      if (current && b.state === 'HALF_OPEN') {
        b.probesInFlight--;
        b.probeSuccesses++;
        if (b.probeSuccesses >= b.config.successThreshold) this.#transition(b, 'CLOSED', null, now);
      } else if (current && b.state === 'CLOSED' && b.ratesOn()) {
        if (b.recordRate(now, { completed: 1, failed: 0, seen: seen ? 0 : 1, slow: slow ? 1 : 0 })) this.#open(b, now, null);
      }
    };
    if (!ok && spec === undefined && isFailure !== undefined && ask(isFailure, payload, true) === false) {
      const ignored: ErrorSpec = { kind: 'thrown', value: payload };
      b.failed++;
      b.ignored++;
      this.#emit(b, { event: 'request:failure', name: b.name, at: now, error: ignored });
      healthy();
      this.results.set(call.id, {
        success: false,
        error: ignored,
        fromCache: false,
        rejected: false,
        circuitState: call.admittedIn,
        executionTime: time,
        at: now,
      });
      return;
    }
    if (ok) {
      b.successful++;
      b.lastSuccess = now;
      if (b.config.cacheFallback) b.cacheStore(call.cacheKey, payload, now);
      if (current) {
        b.consecutiveSuccesses++;
        b.consecutiveFailures = 0;
      }
      this.#emit(b, { event: 'request:success', name: b.name, at: now, executionTime: time });
      healthy();
      this.results.set(call.id, {
        success: true,
        data: payload,
        fromCache: false,
        rejected: false,
        circuitState: call.admittedIn,
        executionTime: time,
        at: now,
      });
      return;
    }
    spec ??= { kind: 'thrown', value: payload };
    b.failed++;
    b.lastFailure = now;
    if (current) {
      b.consecutiveFailures++;
      b.consecutiveSuccesses = 0;
    }
    this.#emit(b, { event: 'request:failure', name: b.name, at: now, error: spec });
    if (current) {
      // retryAfter hears the thrown value, or for a bad result its error (duck-typed here).
      const hint =
        spec.kind === 'timeout'
          ? null
          : b.pause(spec.kind === 'result' ? { name: 'ResultFailureError', value: spec.value } : payload, now);
      if (b.state === 'HALF_OPEN') this.#open(b, now, hint);
      else if (b.state === 'CLOSED') {
        const byCount = b.config.failureThreshold !== Infinity && b.recordFailure(now);
        const byRate = b.ratesOn() && b.recordRate(now, { completed: 1, failed: 1, seen: seen ? 0 : 1, slow: slow ? 1 : 0 });
        if (byCount || byRate || hint !== null) this.#open(b, now, hint);
      }
    }
    this.results.set(call.id, {
      success: false,
      error: spec,
      fromCache: false,
      rejected: false,
      circuitState: call.admittedIn,
      executionTime: time,
      at: now,
    });
  }

  /** The caller gave up: a failed request, not the service's failure. */
  #abandon(call: ModelCall, reason: unknown, ran: boolean): void {
    const b = call.breaker;
    const now = this.now;
    const time = ran ? Math.max(0, now - call.start) : 0;
    call.running = false;
    if (ran) {
      b.ran++;
      b.totalTime += time;
    }
    b.failed++;
    const current = call.generation === b.generation && !this.#destroyed.has(b);
    if (current && b.state === 'HALF_OPEN') b.probesInFlight--;
    const spec: ErrorSpec = { kind: 'thrown', value: reason };
    this.#emit(b, { event: 'request:failure', name: b.name, at: now, error: spec });
    this.results.set(call.id, {
      success: false,
      error: spec,
      fromCache: false,
      rejected: false,
      circuitState: call.admittedIn,
      executionTime: time,
      at: now,
    });
  }

  /** Opens on the rules: for the service's requested pause, or for the (grown) open period. */
  #open(b: ModelBreaker, now: number, pause: number | null): void {
    if (b.state === 'HALF_OPEN') b.reopenings++;
    this.#transition(b, 'OPEN', now + (pause ?? b.openPeriod()), now);
  }

  /** A running call passes its slowCallDuration. */
  #slowMark(c: ModelCall, t: number): void {
    c.slowSeen = true;
    const b = c.breaker;
    if (c.generation !== b.generation || b.state !== 'CLOSED' || !b.ratesOn()) return;
    if (b.recordRate(t, { completed: 0, failed: 0, seen: 1, slow: 1 })) this.#open(b, t, null);
  }

  #transition(b: ModelBreaker, next: State, until: number | null, at: number): void {
    b.state = next;
    b.until = next === 'OPEN' ? until : null;
    b.generation++;
    b.period++;
    b.lastStateChange = at;
    b.probesInFlight = 0;
    b.probeSuccesses = 0;
    if (next === 'OPEN') b.timesOpened++;
    if (next === 'CLOSED') {
      b.timesClosed++;
      b.failures = [];
      b.rates = [];
      b.reopenings = 0;
    }
    const event: StateEventName =
      next === 'OPEN' ? 'circuit:opened' : next === 'CLOSED' ? 'circuit:closed' : 'circuit:half-open';
    this.#emit(b, { event, name: b.name, at, stats: b.snapshot() });
  }

  #reset(b: ModelBreaker): void {
    const wasClosed = b.state === 'CLOSED';
    b.state = 'CLOSED';
    b.until = null;
    b.generation++;
    b.period++;
    b.probesInFlight = b.probeSuccesses = 0;
    b.failures = [];
    b.rates = [];
    b.reopenings = 0;
    b.ignored = 0;
    b.clearCache();
    b.successful = b.failed = b.rejected = 0;
    b.consecutiveFailures = b.consecutiveSuccesses = 0;
    b.timesOpened = b.timesClosed = 0;
    b.lastStateChange = b.lastFailure = b.lastSuccess = null;
    b.ran = b.totalTime = 0;
    if (!wasClosed) this.#emit(b, { event: 'circuit:closed', name: b.name, at: this.now, stats: b.snapshot() });
  }

  /** The earliest timed thing still to come: a running call's deadline or a half-opening. */
  #nextDue(): number | null {
    let next = Infinity;
    for (const c of this.#calls.values()) {
      if (c.running && !this.#destroyed.has(c.breaker) && c.deadline < next) next = c.deadline;
      if (c.running && !c.slowSeen && !this.#destroyed.has(c.breaker) && c.slowAt < next) next = c.slowAt;
    }
    for (const b of this.breakers.values()) {
      if (b.state === 'OPEN' && b.until !== null && b.until < next) next = b.until;
    }
    return next === Infinity ? null : next;
  }

  /**
   * Plays everything due at `t`: half-openings, then, in call order, each call becoming slow
   * and then timing out.
   */
  #playDue(t: number): void {
    const live = (c: ModelCall) => c.running && !this.#destroyed.has(c.breaker);
    const due = [...this.#calls.values()]
      .filter((c) => live(c) && (c.deadline === t || (c.slowAt === t && !c.slowSeen)))
      .sort((x, y) => x.id - y.id);
    for (const b of this.breakers.values()) {
      if (b.state === 'OPEN' && b.until === t) {
        // The generators keep timeouts and half-openings of one breaker on different
        // instants, so their order within one ms never has to be decided here.
        if (due.some((c) => c.breaker === b)) throw new Error(`model: a timeout and a half-opening of ${b.name} at the same ms`);
        this.#transition(b, 'HALF_OPEN', null, t);
      }
    }
    for (const c of due) {
      if (c.slowAt === t && live(c)) this.#slowMark(c, t);
      if (!c.running || c.deadline !== t) continue;
      this.#settle(c, false, undefined, {
        kind: 'timeout',
        executorName: c.breaker.name,
        timeout: c.deadline - c.start,
      });
    }
  }
}

// ---------------------------------------------------------------------------- validation

const COUNTS = ['successThreshold', 'fallbackMaxEntries', 'minimumRequests'];
const SPANS = ['failureWindow', 'fallbackMaxAge'];
const SHARES = ['failureRateThreshold', 'slowCallRateThreshold'];
const FUNCTIONS = ['isFailure', 'isResultFailure', 'retryAfter'];
const KNOWN = new Set([...Object.keys(BUILT_IN_DEFAULTS), ...FUNCTIONS, 'failureRateThreshold']);

/** docs/bad-input.md, restated. */
export function isValidPartial(partial: unknown): boolean {
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) return false;
  const proto = Object.getPrototypeOf(partial);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const [key, value] of Object.entries(partial)) {
    if (!KNOWN.has(key)) return false;
    if (key === 'cacheFallback') {
      if (typeof value !== 'boolean') return false;
      continue;
    }
    if (FUNCTIONS.includes(key)) {
      if (value !== undefined && typeof value !== 'function') return false;
      continue;
    }
    if (key === 'failureRateThreshold' && value === undefined) continue;
    if (typeof value !== 'number') return false;
    if (key === 'failureThreshold' && value === Infinity) continue;
    if (SHARES.includes(key) && !(value > 0 && value <= 1)) return false;
    if (key === 'slowCallDuration' && !(value === Infinity || (value > 0 && value <= MAX_DELAY))) return false;
    if (key === 'resetTimeoutMultiplier' && !(value >= 1 && Number.isFinite(value))) return false;
    if (key === 'maxResetTimeout' && !(value >= 0 && value <= MAX_DELAY)) return false;
    if (key === 'resetTimeoutJitter' && !(value >= 0 && value < 1)) return false;
    if (key === 'failureThreshold' && !(Number.isInteger(value) && value > 0)) return false;
    if (COUNTS.includes(key) && !(Number.isInteger(value) && value > 0)) return false;
    if (SPANS.includes(key) && !(Number.isFinite(value) && value > 0)) return false;
    if (key === 'resetTimeout' && !(value >= 0 && value <= MAX_DELAY)) return false;
    if (key === 'requestTimeout' && !(value === Infinity || (value > 0 && value <= MAX_DELAY))) return false;
  }
  return true;
}
