/**
 * The dashboard's measurements. State changes are recorded from the moment the dashboard
 * exists (they fire only on transitions, never on an ordinary call). Per-call figures (rates,
 * latency, fallback answers, the last error) are measured only while someone watches: the
 * per-call listeners and the update timer exist only then, so an unwatched dashboard adds
 * nothing to `execute`.
 */
import type { CircuitBreakerConfig, CircuitBreakerRegistry, CircuitBreakerStats, CircuitState, Clock } from '../index.js';
import { MINUTE_MS, SPARK_MS, STRIP_MS, Track, type Latency, type Sample } from './track.js';

/**
 * The breakers a dashboard shows: a registry from `createRegistry()`, or the package's module
 * namespace (`import * as circuitBreaker from 'executor-circuit-breaker'`), which is the
 * default. The manual controls also need `openCircuit`, `closeCircuit` and `reset`.
 */
export type DashboardSource = Pick<CircuitBreakerRegistry, 'on' | 'off' | 'getAllStats' | 'getConfig'> &
  Partial<Pick<CircuitBreakerRegistry, 'openCircuit' | 'closeCircuit' | 'reset'>>;

/** Per-second rates over the last few seconds; null while nobody watches. */
export interface ExecutorRates {
  /** Calls per second, rejected ones included. */
  requests: number;
  /** Failed calls (errors and timeouts) per second. */
  failures: number;
  /** Rejected calls per second, those answered from the cache included. */
  rejections: number;
  /** Rejected calls answered from the fallback cache, per second. */
  fallbacks: number;
}

/** Counts over the last minute of watching. */
export interface ExecutorMinute {
  /** Calls, rejected ones included. */
  requests: number;
  /** Calls whose `fn` produced a value. */
  successes: number;
  /** Calls whose `fn` failed or timed out. */
  failures: number;
  /** Calls the circuit refused, those answered from the cache included. */
  rejections: number;
  /** Refused calls answered from the fallback cache. */
  fallbacks: number;
  /** Successes out of the calls that ran (successes + failures), as a fraction; null if none ran. */
  successRate: number | null;
}

/** One executor as the dashboard shows it. Times are in ms since the epoch. */
export interface ExecutorSnapshot {
  /** The executor's name, as given to `execute`. */
  name: string;
  /** The circuit's state now. */
  state: CircuitState;
  /** When the circuit entered its state; null if it never changed. */
  since: number | null;
  /** When the next probe may go (OPEN on its timer); null otherwise. */
  nextAttemptTime: number | null;
  /** The breaker's own counters since it was created (or reset). */
  totals: {
    /** `totalRequests`. */
    requests: number;
    /** `successfulRequests`. */
    successes: number;
    /** `failedRequests`. */
    failures: number;
    /** `rejectedRequests`. */
    rejections: number;
    /** `consecutiveFailures`. */
    consecutiveFailures: number;
    /** `consecutiveSuccesses` (in HALF_OPEN: the probes that succeeded). */
    consecutiveSuccesses: number;
    /** `timesOpened`. */
    timesOpened: number;
    /** `avgResponseTime`, in ms. */
    avgResponseTime: number;
  };
  /** Per-second rates over the last 5 seconds; null while nobody watches. */
  rates: ExecutorRates | null;
  /** Counts over the last minute of watching. */
  lastMinute: ExecutorMinute;
  /** Latency of the successful calls of the last minute of watching, in ms. */
  latency: Latency;
  /** The last failure seen while watching, as `'Name: message'`. */
  lastError: {
    /** When it happened. */
    time: number;
    /** `'Name: message'`, cut to 200 characters. */
    text: string;
  } | null;
  /**
   * `[time, state]` changes over the last 15 minutes, oldest first; the first one may be older
   * (the state the strip starts in), and its time is null when the circuit never changed.
   */
  transitions: [number | null, CircuitState][];
  /**
   * `[end time, length ms, requests, successes, failures, rejections, fallbacks]` per update
   * interval over the last 5 minutes (only those newer than the client already has, in updates).
   */
  samples: Sample[];
  /** The executor's configuration; `requestTimeout: Infinity` shows as null in JSON. */
  config: Readonly<CircuitBreakerConfig> | null;
}

/** What the page and the JSON endpoint receive. */
export interface DashboardSnapshot {
  /** The server's time, in ms since the epoch. */
  now: number;
  /** Whether per-call figures are being measured (someone watches). */
  measuring: boolean;
  /** The update interval, in ms. */
  interval: number;
  /** Spans the strip, the sparkline and the one-minute figures cover, in ms. */
  spans: {
    /** The state strip's: 15 minutes. */
    strip: number;
    /** The sparkline's: 5 minutes. */
    sparkline: number;
    /** The one-minute figures': 1 minute. */
    minute: number;
  };
  /** Every executor, in creation order. */
  executors: ExecutorSnapshot[];
}

/** How many seconds the rates average over. */
const RATE_MS = 5_000;

export class Monitor {
  readonly #source: DashboardSource;
  readonly interval: number;
  readonly #tracks = new Map<string, Track>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #lastTick = 0;
  #lingerUntil = 0;
  #closed = false;
  /** Called after each interval and (at most once per turn of the event loop) after state changes. */
  onUpdate: (() => void) | null = null;
  /** Whether anything listens to updates right now (an open page). */
  hasClients: () => boolean = () => false;
  #pushScheduled = false;

  readonly #clock: Clock;

  constructor(source: DashboardSource, interval: number, clock: Clock) {
    this.#source = source;
    this.interval = interval;
    this.#clock = clock;
    source.on('circuit:opened', this.#onOpened);
    source.on('circuit:half-open', this.#onHalfOpen);
    source.on('circuit:closed', this.#onClosed);
    const now = this.#clock.now();
    for (const [name, stats] of source.getAllStats()) this.#tracks.set(name, new Track(stats, now));
  }

  get measuring(): boolean {
    return this.#timer !== null;
  }

  #track(name: string, stats: CircuitBreakerStats, now: number): Track {
    let track = this.#tracks.get(name);
    if (track === undefined) {
      track = new Track(stats, now);
      this.#tracks.set(name, track);
      if (this.#timer !== null) track.baseline(stats);
    }
    return track;
  }

  #changed(name: string, stats: CircuitBreakerStats): void {
    const now = this.#clock.now();
    const track = this.#tracks.get(name);
    if (track === undefined) this.#track(name, stats, now);
    else track.transition(stats.state, stats.lastStateChange?.getTime() ?? now);
    this.#schedulePush();
  }

  readonly #onOpened = (name: string, stats: CircuitBreakerStats): void => this.#changed(name, stats);
  readonly #onHalfOpen = (name: string, stats: CircuitBreakerStats): void => this.#changed(name, stats);
  readonly #onClosed = (name: string, stats: CircuitBreakerStats): void => this.#changed(name, stats);
  readonly #onSuccess = (name: string, ms: number): void => this.#tracks.get(name)?.success(ms);
  readonly #onFailure = (name: string, error: Error): void => this.#tracks.get(name)?.failure(error, this.#clock.now());
  readonly #onFallback = (name: string): void => this.#tracks.get(name)?.fallback();

  /** Tells open pages about a change soon, once however many changes come in this turn. */
  #schedulePush(): void {
    if (this.#pushScheduled || !this.hasClients()) return;
    this.#pushScheduled = true;
    setImmediate(() => {
      this.#pushScheduled = false;
      if (!this.#closed) this.onUpdate?.();
    });
  }

  /** Starts measuring, if not already: the per-call listeners and the update timer. */
  watch(): void {
    if (this.#timer !== null || this.#closed) return;
    const source = this.#source;
    const now = this.#clock.now();
    for (const [name, stats] of source.getAllStats()) this.#track(name, stats, now).baseline(stats);
    source.on('request:success', this.#onSuccess);
    source.on('request:failure', this.#onFailure);
    source.on('fallback:used', this.#onFallback);
    this.#lastTick = now;
    this.#timer = setInterval(() => this.#tick(), this.interval);
    // An open page never keeps the app alive on its own.
    this.#timer.unref?.();
  }

  /** Keeps measuring for a minute after a JSON snapshot, so a script polling it gets rates. */
  linger(): void {
    this.#lingerUntil = this.#clock.now() + MINUTE_MS;
    this.watch();
  }

  /** Stops measuring unless someone still watches (a page, or a snapshot within the minute). */
  idle(): void {
    if (!this.hasClients() && this.#clock.now() >= this.#lingerUntil) this.unwatch();
  }

  /** Stops measuring: removes the per-call listeners and the timer. */
  unwatch(): void {
    if (this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
    this.#source.off('request:success', this.#onSuccess);
    this.#source.off('request:failure', this.#onFailure);
    this.#source.off('fallback:used', this.#onFallback);
  }

  #tick(): void {
    const now = this.#clock.now();
    const length = now - this.#lastTick;
    this.#lastTick = now;
    for (const [name, stats] of this.#source.getAllStats()) this.#track(name, stats, now).sample(stats, now, length);
    this.idle();
    if (this.#timer !== null) this.onUpdate?.();
  }

  /** Everything the page shows; `since` limits the samples to those newer than it. */
  snapshot(since = -Infinity): DashboardSnapshot {
    const now = this.#clock.now();
    const executors: ExecutorSnapshot[] = [];
    const measuring = this.measuring;
    for (const [name, stats] of this.#source.getAllStats()) {
      const track = this.#track(name, stats, now);
      executors.push(view(name, stats, track, now, since, measuring, this.#source.getConfig(name)));
    }
    return {
      now,
      measuring,
      interval: this.interval,
      spans: { strip: STRIP_MS, sparkline: SPARK_MS, minute: MINUTE_MS },
      executors,
    };
  }

  /** Stops everything, for good. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.unwatch();
    this.#source.off('circuit:opened', this.#onOpened);
    this.#source.off('circuit:half-open', this.#onHalfOpen);
    this.#source.off('circuit:closed', this.#onClosed);
  }
}

function view(
  name: string,
  stats: CircuitBreakerStats,
  track: Track,
  now: number,
  since: number,
  measuring: boolean,
  config: Readonly<CircuitBreakerConfig> | null,
): ExecutorSnapshot {
  const minute = { requests: 0, successes: 0, failures: 0, rejections: 0, fallbacks: 0 };
  const recent = { ms: 0, requests: 0, failures: 0, rejections: 0, fallbacks: 0 };
  for (const [end, length, requests, successes, failures, rejections, fallbacks] of track.samples) {
    if (end > now - MINUTE_MS) {
      minute.requests += requests;
      minute.successes += successes;
      minute.failures += failures;
      minute.rejections += rejections;
      minute.fallbacks += fallbacks;
    }
    if (end > now - RATE_MS) {
      recent.ms += length;
      recent.requests += requests;
      recent.failures += failures;
      recent.rejections += rejections;
      recent.fallbacks += fallbacks;
    }
  }
  const ran = minute.successes + minute.failures;
  const perSecond = (n: number): number => (recent.ms > 0 ? (n * 1000) / recent.ms : 0);
  return {
    name,
    state: stats.state,
    since: stats.lastStateChange?.getTime() ?? null,
    nextAttemptTime: stats.nextAttemptTime?.getTime() ?? null,
    totals: {
      requests: stats.totalRequests,
      successes: stats.successfulRequests,
      failures: stats.failedRequests,
      rejections: stats.rejectedRequests,
      consecutiveFailures: stats.consecutiveFailures,
      consecutiveSuccesses: stats.consecutiveSuccesses,
      timesOpened: stats.timesOpened,
      avgResponseTime: stats.avgResponseTime,
    },
    rates: measuring
      ? {
          requests: perSecond(recent.requests),
          failures: perSecond(recent.failures),
          rejections: perSecond(recent.rejections),
          fallbacks: perSecond(recent.fallbacks),
        }
      : null,
    lastMinute: { ...minute, successRate: ran > 0 ? minute.successes / ran : null },
    latency: track.latency(now),
    lastError: track.lastError,
    transitions: track.transitions.slice(),
    samples: track.samples.filter((s) => s[0] > since),
    config,
  };
}
