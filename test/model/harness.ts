/**
 * Plays one command sequence against a real registry (createRegistry under vitest's fake
 * timers) and the reference model side by side, and after every command checks that they
 * agree, plus invariants that hold whatever the model says.
 *
 * Compared after every step:
 *   - every call's result (success, data by identity, error, fromCache, rejected,
 *     circuitState, executionTime) and the fake time at which it was handed out;
 *   - how many times each fn was called (0 or 1), and the arguments it got;
 *   - every emitted event with its arguments, in order (per executor; events of different
 *     executors at the same millisecond may interleave either way, see commands.ts);
 *   - getStats / getState / isOpen / isClosed / isHalfOpen of every name, getExecutors,
 *     getAllStats;
 *   - after each advance or flush: the exact number of pending fake timers.
 * Invariants checked on the real side alone:
 *   - totalRequests = successfulRequests + failedRequests + rejectedRequests in every
 *     snapshot (getStats, getAllStats, event payloads);
 *   - fn is never called while the circuit is OPEN;
 *   - never more than successThreshold probes in flight in one half-open period;
 *   - circuit events alternate legally (no closed without an open, no second opened for
 *     one opening, half-open only after opened) and their stats show the new state;
 *   - no timer at all once every call has settled and every circuit is closed (after the
 *     arming turn), and none right after destroy();
 *   - a rejected call's CircuitOpenError is one object per open period;
 *   - fn's AbortSignal aborts with the TimeoutError on a timeout, with the caller's reason
 *     on an abort, and not otherwise;
 *   - snapshots are copies: the harness scribbles on every one it gets.
 */
import type fc from 'fast-check';
import { expect, vi } from 'vitest';
import {
  createRegistry,
  type CircuitBreakerConfig,
  type CircuitBreakerEventName,
  type CircuitBreakerRegistry,
  type CircuitBreakerStats,
  type ExecuteOptions,
  type ExecutionResult,
} from '../../src/index.js';
import { BAD_VARIANTS, CALL_TIMEOUTS, NAMES, NON_ERRORS, mark, type Command, type FnKind } from './commands.js';
import {
  ReferenceModel,
  type Behaviour,
  type CallOptions,
  type ErrorSpec,
  type EventSpec,
  type ResultSpec,
  type State,
  type StatsSpec,
} from './reference.js';

/** Captured when this module loads, before any test fakes the timers: one real loop turn. */
const realSetImmediate = globalThis.setImmediate;

/** Lets every pending microtask (and promise job) run: one real event-loop turn. */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

/** Where the fake clock starts: a multiple of 10 (see the grid in commands.ts). */
export const T0 = 1_900_000_000_000;

const EVENTS: readonly CircuitBreakerEventName[] = [
  'circuit:opened',
  'circuit:closed',
  'circuit:half-open',
  'request:success',
  'request:failure',
  'request:rejected',
  'fallback:used',
];

interface RealCall {
  readonly id: number;
  readonly name: string;
  readonly kind: FnKind;
  readonly wantsSignal: boolean;
  /** The pending fn's settlers, until the test settles it. */
  settlers: { resolve: (v: unknown) => void; reject: (e: unknown) => void } | null;
  /** The caller's controller, when the call has a signal the test may abort. */
  controller: AbortController | null;
  invoked: number;
  argc: number;
  signal: unknown;
  result: ExecutionResult<unknown> | null;
  resultAt: number;
  verified: boolean;
  /** Reason the caller aborted with, if it did while the call ran. */
  abortReason: { reason: unknown } | null;
}

interface RealEvent {
  event: CircuitBreakerEventName;
  name: string;
  at: number;
  stats?: StatsSpec;
  executionTime?: number;
  error?: Error;
}

export interface RunOptions {
  /** Registry defaults (on the timing grid). */
  defaults: Partial<CircuitBreakerConfig>;
  /** How many of NAMES the commands address. */
  executors: number;
  scheduler?: fc.Scheduler;
}

function toMs(date: Date | null): number | null {
  return date === null ? null : date.getTime();
}

function normalizeStats(stats: CircuitBreakerStats): StatsSpec {
  return {
    executorName: stats.executorName,
    state: stats.state as State,
    totalRequests: stats.totalRequests,
    successfulRequests: stats.successfulRequests,
    failedRequests: stats.failedRequests,
    rejectedRequests: stats.rejectedRequests,
    ignoredFailures: stats.ignoredFailures,
    consecutiveFailures: stats.consecutiveFailures,
    consecutiveSuccesses: stats.consecutiveSuccesses,
    timesOpened: stats.timesOpened,
    timesClosed: stats.timesClosed,
    lastStateChange: toMs(stats.lastStateChange),
    lastFailureTime: toMs(stats.lastFailureTime),
    lastSuccessTime: toMs(stats.lastSuccessTime),
    nextAttemptTime: toMs(stats.nextAttemptTime),
    avgResponseTime: stats.avgResponseTime,
  };
}

/** Changes everything in a snapshot the library handed out: a copy must not care. */
function scribble(stats: CircuitBreakerStats): void {
  const s = stats as unknown as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    const value = s[key];
    if (value instanceof Date) value.setTime(0);
    else if (typeof value === 'number') s[key] = -1;
  }
  s.state = 'SCRIBBLED';
}

function checkTotals(stats: CircuitBreakerStats | StatsSpec, where: string): void {
  if (stats.totalRequests !== stats.successfulRequests + stats.failedRequests + stats.rejectedRequests) {
    throw new Error(`invariant: totalRequests != successful + failed + rejected in ${where}: ${JSON.stringify(stats)}`);
  }
}

const LEGAL: Record<string, readonly State[]> = {
  'circuit:opened': ['CLOSED', 'HALF_OPEN'],
  'circuit:half-open': ['OPEN'],
  'circuit:closed': ['OPEN', 'HALF_OPEN'],
};
const ENTERS: Record<string, State> = {
  'circuit:opened': 'OPEN',
  'circuit:half-open': 'HALF_OPEN',
  'circuit:closed': 'CLOSED',
};

function describeEvent(e: { event: string; name: string; at: number }): string {
  return `+${e.at - T0}ms ${e.name} ${e.event}`;
}

/** Stable order for comparing: by time, then executor; one executor's events keep their order. */
function canonical<E extends { at: number; name: string }>(events: E[]): E[] {
  return [...events].sort((x, y) => x.at - y.at || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

export class Run {
  readonly reg: CircuitBreakerRegistry;
  readonly model: ReferenceModel;
  readonly #names: readonly string[];
  readonly #scheduler: fc.Scheduler | undefined;
  readonly #calls = new Map<number, RealCall>();
  #nextId = 0;
  #events: RealEvent[] = [];
  /** What the real event stream says each circuit is in (for the alternation check). */
  #circuit = new Map<string, State>();
  /** Calls admitted in the current half-open period of each executor, not yet settled. */
  #probes = new Map<string, Set<number>>();
  /** One CircuitOpenError per open period: period -> error, error -> period. */
  readonly #openErrors = new Map<string, Error>();
  readonly #openErrorPeriods = new WeakMap<Error, string>();
  /** Scheduled fns released by fc.scheduler since the last step. */
  #released: Array<{ id: number; ok: boolean; payload: unknown }> = [];
  readonly #violations: string[] = [];
  /** The reused function objects, by executor and whether they name a parameter. */
  readonly #stableFns = new Map<string, (...args: unknown[]) => unknown>();
  /** What the stable function of the call being started does (execute calls fn synchronously). */
  #currentBody: ((signal: unknown, argc: number) => unknown) | null = null;
  /** Which step is running, for messages. */
  step = -1;
  /** How many results of each kind were compared (to see what the generators reach). */
  readonly tally = new Map<string, number>();

  constructor(options: RunOptions) {
    vi.clearAllTimers();
    vi.setSystemTime(T0);
    this.#names = NAMES.slice(0, options.executors);
    this.#scheduler = options.scheduler;
    this.reg = createRegistry({ defaults: options.defaults });
    this.model = new ReferenceModel(T0, options.defaults);
    this.#listen();
  }

  /** Plays every command, checking after each. */
  async play(commands: readonly Command[]): Promise<void> {
    for (let i = 0; i < commands.length; i++) {
      this.step = i;
      const command = commands[i]!;
      try {
        await this.#exec(command);
        await this.#check(command);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`step ${i} ${JSON.stringify(command)}: ${message}`, { cause: error });
      }
    }
  }

  /** Ends the run: nothing may be left on the fake event loop after destroy(). */
  dispose(): void {
    this.reg.destroy();
    const left = vi.getTimerCount();
    vi.clearAllTimers();
    if (left !== 0) throw new Error(`invariant: ${left} timer(s) pending right after destroy()`);
  }

  // ------------------------------------------------------------------ the real side

  #listen(): void {
    for (const event of EVENTS) {
      this.reg.on(event, (name: string, arg?: unknown) => {
        const at = Date.now();
        const record: RealEvent = { event, name, at };
        if (event.startsWith('circuit:')) {
          const stats = arg as CircuitBreakerStats;
          checkTotals(stats, `the ${event} event of ${name}`);
          record.stats = normalizeStats(stats);
          this.#onCircuitEvent(event, name, record.stats.state);
          scribble(stats);
        } else if (event === 'request:success') {
          record.executionTime = arg as number;
        } else if (event === 'request:failure') {
          record.error = arg as Error;
        }
        this.#events.push(record);
      });
    }
  }

  #onCircuitEvent(event: string, name: string, statsState: State): void {
    const from = this.#circuit.get(name) ?? 'CLOSED';
    if (!LEGAL[event]!.includes(from)) this.#violations.push(`illegal event order: ${event} of ${name} while ${from}`);
    const to = ENTERS[event]!;
    if (statsState !== to) this.#violations.push(`${event} of ${name} carries stats with state ${statsState}`);
    this.#circuit.set(name, to);
    this.#probes.get(name)?.clear();
  }

  /** Makes fn for a call: with or without a named parameter, doing what `kind` says. */
  #makeFn(call: RealCall, behaviour: Behaviour, scheduled: { ok: boolean; payload: unknown } | null, stable: boolean) {
    const body = (signal: unknown, argc: number): unknown => {
      call.invoked++;
      call.argc = argc;
      call.signal = signal;
      this.#onInvoke(call);
      const value = behaviour.kind === 'pending' ? undefined : behaviour.value;
      switch (call.kind) {
        case 'value':
          return value;
        case 'throw':
        case 'throwNonError':
          throw value;
        case 'resolve':
          return Promise.resolve(value);
        case 'reject':
          return Promise.reject(value);
        case 'asyncThrow':
          return (async () => {
            throw value;
          })();
        case 'thenable':
          return { then: (resolve: (v: unknown) => void) => resolve(value) };
        case 'thenableReject':
          return { then: (_: unknown, reject: (e: unknown) => void) => reject(value) };
        case 'pending':
          return new Promise((resolve, reject) => {
            call.settlers = { resolve, reject };
          });
        case 'scheduled': {
          const s = this.#scheduler!;
          return s.schedule(Promise.resolve(), `call #${call.id} ${scheduled!.ok ? 'resolves' : 'rejects'}`).then(() => {
            this.#released.push({ id: call.id, ...scheduled! });
            if (!scheduled!.ok) throw scheduled!.payload;
            return scheduled!.payload;
          });
        }
      }
    };
    if (stable) {
      this.#currentBody = body;
      const key = `${call.name}:${call.wantsSignal}`;
      let fn = this.#stableFns.get(key);
      if (fn === undefined) {
        const current = () => {
          const run = this.#currentBody!;
          this.#currentBody = null; // a stale body would mean fn was called outside execute()
          return run;
        };
        fn = call.wantsSignal
          ? function (signal: unknown) {
              // eslint-disable-next-line prefer-rest-params
              return current()(signal, arguments.length);
            }
          : function () {
              // eslint-disable-next-line prefer-rest-params
              return current()(undefined, arguments.length);
            };
        this.#stableFns.set(key, fn);
      }
      return fn;
    }
    // The library hands a signal only to a function that declares a parameter (fn.length > 0).
    return call.wantsSignal
      ? function (signal: AbortSignal) {
          // eslint-disable-next-line prefer-rest-params
          return body(signal, arguments.length);
        }
      : function () {
          // eslint-disable-next-line prefer-rest-params
          return body(undefined, arguments.length);
        };
  }

  #onInvoke(call: RealCall): void {
    const state = this.reg.getState(call.name);
    if (state === 'OPEN') this.#violations.push(`fn of call #${call.id} was called while ${call.name} is OPEN`);
    if (state === 'HALF_OPEN') {
      let probes = this.#probes.get(call.name);
      if (!probes) this.#probes.set(call.name, (probes = new Set()));
      probes.add(call.id);
      const limit = this.model.config(call.name)?.successThreshold ?? Infinity;
      if (probes.size > limit) {
        this.#violations.push(`${probes.size} probes in flight on ${call.name} with successThreshold ${limit}`);
      }
    }
  }

  #newCall(name: string, kind: FnKind, wantsSignal: boolean): RealCall {
    const call: RealCall = {
      id: ++this.#nextId,
      name,
      kind,
      wantsSignal,
      settlers: null,
      controller: null,
      invoked: 0,
      argc: -1,
      signal: undefined,
      result: null,
      resultAt: -1,
      verified: false,
      abortReason: null,
    };
    this.#calls.set(call.id, call);
    return call;
  }

  /** Starts one call on both sides. */
  #startCall(
    exIndex: number,
    kind: FnKind,
    sig: boolean,
    key: number,
    abort: 'none' | 'signal' | 'pre',
    v: number,
    stable = false,
    to = 0,
  ): void {
    const name = this.#names[exIndex % this.#names.length]!;
    const call = this.#newCall(name, kind, sig);
    const payload = mark({ id: call.id }, v, Date.now());
    const error = mark(new Error(`failure of call #${call.id}`), v, Date.now());
    const nonError = NON_ERRORS[v % NON_ERRORS.length];
    let behaviour: Behaviour;
    let scheduled: { ok: boolean; payload: unknown } | null = null;
    switch (kind) {
      case 'value':
      case 'resolve':
      case 'thenable':
        behaviour = { kind: 'returns', value: payload };
        break;
      case 'throw':
      case 'asyncThrow':
        behaviour = { kind: 'throws', value: error };
        break;
      case 'throwNonError':
        behaviour = { kind: 'throws', value: nonError };
        break;
      case 'reject':
      case 'thenableReject':
        behaviour = { kind: 'throws', value: v % 2 === 0 ? error : nonError };
        break;
      case 'pending':
        behaviour = { kind: 'pending' };
        break;
      case 'scheduled':
        behaviour = { kind: 'pending' };
        scheduled = v % 3 === 0 ? { ok: false, payload: error } : { ok: true, payload };
        break;
    }
    const options: ExecuteOptions = {};
    const modelOptions: CallOptions = {};
    if (key > 0) options.cacheKey = modelOptions.cacheKey = `k${key}`;
    const timeout = CALL_TIMEOUTS[to % CALL_TIMEOUTS.length];
    if (timeout !== undefined) options.timeout = modelOptions.timeout = timeout;
    if (abort !== 'none') {
      call.controller = new AbortController();
      options.signal = call.controller.signal;
      if (abort === 'pre') {
        call.controller.abort(this.#abortReason(v));
        modelOptions.abortedBefore = { reason: call.controller.signal.reason };
      }
    }
    const fn = this.#makeFn(call, behaviour, scheduled, stable);
    const promise = this.reg.execute(name, fn, options);
    this.#currentBody = null;
    promise.then(
      (result) => {
        call.result = result;
        call.resultAt = Date.now();
        this.#probes.get(name)?.delete(call.id);
      },
      (error: unknown) => this.#violations.push(`execute rejected for call #${call.id}: ${String(error)}`),
    );
    this.model.execute(call.id, name, behaviour, modelOptions);
  }

  #abortReason(v: number): unknown {
    switch (v % 3) {
      case 0:
        return new Error('the caller gave up');
      case 1:
        return undefined; // AbortController makes a DOMException AbortError
      default:
        return NON_ERRORS[v % NON_ERRORS.length];
    }
  }

  async #exec(command: Command): Promise<void> {
    const { reg, model } = this;
    const name = 'ex' in command ? this.#names[command.ex % this.#names.length]! : '';
    switch (command.t) {
      case 'call':
        this.#startCall(command.ex, command.fn, command.sig, command.key, command.abort, command.v, command.stable, command.to);
        return;
      case 'burst': {
        const kind: FnKind = this.#scheduler ? 'scheduled' : 'pending';
        for (let i = 0; i < command.n; i++) this.#startCall(command.ex, kind, command.sig, command.key, 'none', this.#nextId + 1);
        return;
      }
      case 'settle': {
        const open = [...this.#calls.values()].filter((c) => c.settlers !== null);
        if (open.length === 0) return;
        const call = open[command.pick % open.length]!;
        const settlers = call.settlers!;
        call.settlers = null;
        if (command.how === 'resolve') {
          const payload = mark({ id: call.id, late: true }, command.v, Date.now());
          settlers.resolve(payload);
          await drainMicrotasks();
          model.settle(call.id, true, payload);
        } else {
          const reason =
            command.how === 'reject'
              ? mark(new Error(`late failure of #${call.id}`), command.v, Date.now())
              : NON_ERRORS[command.v % NON_ERRORS.length];
          settlers.reject(reason);
          await drainMicrotasks();
          model.settle(call.id, false, reason);
        }
        return;
      }
      case 'abort': {
        const open = [...this.#calls.values()].filter((c) => c.controller !== null && !c.controller.signal.aborted);
        if (open.length === 0) return;
        const call = open[command.pick % open.length]!;
        const running = model.isRunning(call.id);
        call.controller!.abort(this.#abortReason(command.v));
        const reason: unknown = call.controller!.signal.reason;
        if (running) call.abortReason = { reason };
        await drainMicrotasks();
        model.abort(call.id, reason);
        return;
      }
      case 'release': {
        const s = this.#scheduler;
        if (!s || s.count() === 0) return;
        await s.waitOne();
        await drainMicrotasks();
        const released = this.#released;
        this.#released = [];
        for (const r of released) model.settle(r.id, r.ok, r.payload);
        return;
      }
      case 'advance':
        await vi.advanceTimersByTimeAsync(command.ms);
        model.advance(command.ms);
        return;
      case 'flush':
        await vi.advanceTimersByTimeAsync(0);
        model.advance(0);
        return;
      case 'configure': {
        let threw: unknown = null;
        try {
          reg.configure(name, command.partial as Partial<CircuitBreakerConfig>);
        } catch (error) {
          threw = error;
        }
        const accepted = model.configure(name, command.partial);
        if (accepted && threw !== null) throw new Error(`configure threw for a valid partial: ${String(threw)}`);
        if (!accepted) {
          if (threw === null) throw new Error('configure accepted a bad partial');
          if (!(threw instanceof TypeError || threw instanceof RangeError)) {
            throw new Error(`configure threw ${String(threw)}, not a TypeError or RangeError`);
          }
        }
        return;
      }
      case 'open':
        reg.openCircuit(name);
        model.openCircuit(name);
        return;
      case 'close':
        reg.closeCircuit(name);
        model.closeCircuit(name);
        return;
      case 'reset':
        reg.reset(name);
        model.reset(name);
        return;
      case 'resetAll':
        reg.resetAll();
        model.resetAll();
        return;
      case 'destroy': {
        reg.destroy();
        model.destroy();
        const left = vi.getTimerCount();
        if (left !== 0) throw new Error(`invariant: ${left} timer(s) pending right after destroy()`);
        this.#circuit = new Map();
        this.#probes = new Map();
        this.#listen(); // destroy() removed the listeners
        return;
      }
      case 'bad':
        await this.#bad(name, command.variant % BAD_VARIANTS);
        return;
    }
  }

  /** A programmer error: a TypeError (thrown, or a rejection from execute), and nothing changes. */
  async #bad(name: string, variant: number): Promise<void> {
    const { reg } = this;
    let invoked = 0;
    const fn = () => {
      invoked++;
      return 'never';
    };
    const loose = reg as unknown as Record<string, (...args: unknown[]) => unknown>;
    const attempts: Array<() => unknown> = [
      () => loose.execute!('', fn),
      () => loose.execute!(name, 42),
      () => loose.execute!(name, fn, { retries: 1 }),
      () => loose.configure!('', { failureThreshold: 1 }),
      () => loose.openCircuit!(5),
      () => loose.execute!(name, fn, { cacheKey: 5 }),
      () => loose.execute!(name, fn, { timeout: 0 }),
    ];
    let outcome: unknown;
    try {
      outcome = attempts[variant]!();
    } catch (error) {
      if (variant !== 3 && variant !== 4) throw new Error(`execute threw synchronously: ${String(error)}`);
      if (!(error instanceof TypeError)) throw new Error(`expected a TypeError, got ${String(error)}`);
      return;
    }
    if (variant === 3 || variant === 4) throw new Error('a bad name was accepted');
    const error = await (outcome as Promise<unknown>).then(
      () => null,
      (e: unknown) => e,
    );
    if (!(error instanceof TypeError)) throw new Error(`expected a TypeError rejection, got ${String(error)}`);
    if (invoked !== 0) throw new Error('fn was called on a programmer error');
  }

  // ------------------------------------------------------------------ comparing

  async #check(command: Command): Promise<void> {
    await drainMicrotasks();
    const { reg, model } = this;

    if (this.#violations.length > 0) throw new Error(`invariant: ${this.#violations.join('; ')}`);

    // Results and invocations.
    for (const call of this.#calls.values()) {
      if (call.verified) continue;
      const expected = model.results.get(call.id);
      if (call.invoked !== (model.invocations.get(call.id) ?? 0)) {
        throw new Error(`call #${call.id}: fn called ${call.invoked} time(s), the model says ${model.invocations.get(call.id) ?? 0}`);
      }
      if (call.result === null && expected === undefined) continue;
      if (call.result === null) throw new Error(`call #${call.id} has no result yet; the model expects ${JSON.stringify(expected)}`);
      if (expected === undefined) {
        throw new Error(`call #${call.id} resolved to ${JSON.stringify(call.result)} but the model expects it still running`);
      }
      this.#checkResult(call, expected);
      call.verified = true;
    }

    // Events, in order.
    const real = canonical(this.#events);
    const wanted = canonical(model.events);
    this.#events = [];
    model.events = [];
    expect(real.map(describeEvent), 'events').toEqual(wanted.map(describeEvent));
    for (let i = 0; i < real.length; i++) this.#checkEvent(real[i]!, wanted[i]!);

    // Statistics and state of every name.
    for (const name of this.#names) {
      const stats = reg.getStats(name);
      const expectedStats = model.stats(name);
      if (stats !== null) checkTotals(stats, `getStats("${name}")`);
      expect(stats === null ? null : normalizeStats(stats), `getStats("${name}")`).toEqual(expectedStats);
      if (stats !== null) scribble(stats);
      const state = model.state(name);
      expect(reg.getState(name), `getState("${name}")`).toBe(state);
      expect([reg.isOpen(name), reg.isClosed(name), reg.isHalfOpen(name)], `isOpen/isClosed/isHalfOpen("${name}")`).toEqual([
        state === 'OPEN',
        state === 'CLOSED',
        state === 'HALF_OPEN',
      ]);
    }
    expect(reg.getExecutors(), 'getExecutors()').toEqual(model.executors());
    const all = reg.getAllStats();
    expect([...all.keys()], 'getAllStats() keys').toEqual(model.executors());
    for (const [name, stats] of all) {
      checkTotals(stats, `getAllStats() of ${name}`);
      expect(normalizeStats(stats), `getAllStats() of ${name}`).toEqual(model.stats(name));
    }

    // Timers, once the arming turn has passed.
    if (command.t === 'advance' || command.t === 'flush') {
      const timers = vi.getTimerCount();
      expect(timers, 'pending timers').toBe(model.expectedTimers());
      const idle =
        [...this.#calls.values()].every((c) => !model.isRunning(c.id)) &&
        model.executors().every((name) => model.state(name) === 'CLOSED');
      if (idle && timers !== 0) throw new Error(`invariant: ${timers} timer(s) pending with no call running and every circuit closed`);
    }
  }

  #checkResult(call: RealCall, expected: ResultSpec): void {
    const r = call.result!;
    const where = `result of call #${call.id}`;
    const kind = r.success
      ? `${r.fromCache ? 'cached' : 'success'} in ${r.circuitState}`
      : `${r.rejected ? 'rejected' : (r.error.name ?? 'failure')} in ${r.circuitState}`;
    this.tally.set(kind, (this.tally.get(kind) ?? 0) + 1);
    expect(
      {
        success: r.success,
        fromCache: r.fromCache,
        rejected: r.rejected,
        circuitState: r.circuitState,
        executionTime: r.executionTime,
        at: call.resultAt - T0,
      },
      where,
    ).toEqual({
      success: expected.success,
      fromCache: expected.fromCache,
      rejected: expected.rejected,
      circuitState: expected.circuitState,
      executionTime: expected.executionTime,
      at: expected.at - T0,
    });
    if (expected.success) {
      expect(r.data, `${where}: data`).toBe(expected.data);
      expect(r.error, `${where}: error`).toBeUndefined();
    } else {
      expect(r.data, `${where}: data`).toBeUndefined();
      this.#checkError(r.error!, expected.error!, where);
    }
    // What fn got.
    if (call.invoked > 0) {
      if (call.wantsSignal) {
        if (call.argc !== 1 || !(call.signal instanceof AbortSignal)) {
          throw new Error(`${where}: fn names a parameter but got ${call.argc} argument(s): ${String(call.signal)}`);
        }
        const signal = call.signal;
        const timedOut = expected.error?.kind === 'timeout';
        const abandoned = !expected.success && call.abortReason !== null && expected.error?.kind === 'thrown' &&
          expected.error.value === call.abortReason.reason;
        if (timedOut) {
          expect(signal.aborted, `${where}: fn's signal aborted on the timeout`).toBe(true);
          expect(signal.reason, `${where}: fn's signal reason`).toBe(r.error);
        } else if (abandoned) {
          expect(signal.aborted, `${where}: fn's signal aborted with the caller`).toBe(true);
          expect(signal.reason, `${where}: fn's signal reason`).toBe(call.abortReason!.reason);
        } else {
          expect(signal.aborted, `${where}: fn's signal aborted`).toBe(false);
        }
      } else if (call.argc !== 0) {
        throw new Error(`${where}: fn has an empty parameter list but got ${call.argc} argument(s)`);
      }
    }
  }

  #checkError(error: Error, spec: ErrorSpec, where: string): void {
    if (!(error instanceof Error)) throw new Error(`${where}: error is not an Error: ${String(error)}`);
    switch (spec.kind) {
      case 'thrown':
        if (spec.value instanceof Error) {
          expect(error, `${where}: error`).toBe(spec.value);
        } else {
          expect(error.message.startsWith('Non-Error thrown: '), `${where}: wrapped message "${error.message}"`).toBe(true);
          expect(Object.is(error.cause, spec.value), `${where}: cause is the thrown value`).toBe(true);
        }
        return;
      case 'result': {
        const e = error as Error & { value?: unknown };
        expect(e.name, `${where}: ResultFailureError`).toBe('ResultFailureError');
        expect(e.value, `${where}: the value judged a failure`).toBe(spec.value);
        return;
      }
      case 'timeout': {
        const e = error as Error & { executorName?: string; timeout?: number };
        expect({ name: e.name, executorName: e.executorName, timeout: e.timeout }, `${where}: TimeoutError`).toEqual({
          name: 'TimeoutError',
          executorName: spec.executorName,
          timeout: spec.timeout,
        });
        return;
      }
      case 'open': {
        const e = error as Error & { executorName?: string; nextAttemptTime?: Date | null };
        expect(
          { name: e.name, executorName: e.executorName, nextAttemptTime: e.nextAttemptTime == null ? e.nextAttemptTime : e.nextAttemptTime.getTime() },
          `${where}: CircuitOpenError`,
        ).toEqual({ name: 'CircuitOpenError', executorName: spec.executorName, nextAttemptTime: spec.nextAttemptTime });
        const known = this.#openErrors.get(spec.period);
        if (known !== undefined) {
          if (known !== error) throw new Error(`${where}: a second CircuitOpenError object in one open period`);
        } else {
          const other = this.#openErrorPeriods.get(error);
          if (other !== undefined) throw new Error(`${where}: the CircuitOpenError of an earlier period was reused`);
          this.#openErrors.set(spec.period, error);
          this.#openErrorPeriods.set(error, spec.period);
        }
        return;
      }
    }
  }

  #checkEvent(real: RealEvent, wanted: EventSpec): void {
    const where = `event ${describeEvent(wanted)}`;
    switch (wanted.event) {
      case 'circuit:opened':
      case 'circuit:closed':
      case 'circuit:half-open':
        expect(real.stats, `${where}: stats`).toEqual(wanted.stats);
        return;
      case 'request:success':
        expect(real.executionTime, `${where}: executionTime`).toBe(wanted.executionTime);
        return;
      case 'request:failure':
        this.#checkError(real.error!, wanted.error, where);
        return;
      default:
        return;
    }
  }
}
