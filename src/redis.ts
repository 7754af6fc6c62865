/**
 * One circuit per executor across a fleet of processes, shared through Redis:
 * `executor-circuit-breaker/redis`.
 *
 * ```ts
 * import Redis from 'ioredis';
 * import { shareCircuitState } from 'executor-circuit-breaker/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL);
 * const sharing = shareCircuitState(redis, { countFailuresFleetWide: true });
 * sharing.on('error', (error) => log.warn(error)); // Redis trouble; the breakers go on locally
 * // at shutdown:
 * await sharing.close();
 * redis.disconnect();
 * ```
 *
 * ioredis (5) is an optional peer dependency. This entry point never loads it: it uses the
 * connection it is handed (and a duplicate of it for pub/sub). See docs/distributed.md.
 *
 * @packageDocumentation
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import type { Redis } from 'ioredis';
import * as core from './index.js';
import type { CircuitBreakerRegistry, CircuitBreakerStats, ProbeGate } from './index.js';
import { ACQUIRE_PROBE, COUNT_FAILURE, PUBLISH_STATE, RELEASE_PROBE, type Script } from './redis-scripts.js';

type SharedProbeGate = ProbeGate;

/**
 * The breakers to share: a registry from `createRegistry()`, or by default the package's
 * module functions. Any object with these methods will do.
 */
export type SharedBreakers = Pick<
  CircuitBreakerRegistry,
  'on' | 'off' | 'getState' | 'getStats' | 'getExecutors' | 'openCircuit' | 'closeCircuit'
> & {
  /** Opens the circuit as if on its own, with probes from `nextAttemptTime` (the core's hook). */
  tripCircuit(executorName: string, nextAttemptTime: Date): void;
  /** Installs or removes the gate asked before each half-open probe (the core's hook). */
  setProbeGate(executorName: string, gate: SharedProbeGate | null): void;
};

/**
 * The fleet-wide settings of one executor. The registry does not expose a breaker's
 * configuration, so give here the values you gave `configure()` (the defaults are the
 * core's).
 */
export interface FleetSettings {
  /** Failures of the whole fleet within `failureWindow` that open the circuit everywhere (default 5). */
  failureThreshold: number;
  /** How long a failure counts in the fleet's count, in ms, on Redis's clock (default 60000). */
  failureWindow: number;
  /** How long a circuit opened by the fleet's count stays OPEN, in ms (default 30000). */
  resetTimeout: number;
  /**
   * How long a process may hold the probe lease of a half-open circuit without renewing
   * it, in ms (default 15000: the default `requestTimeout` plus 5 s). Keep it above
   * `requestTimeout`. A prober that crashes blocks the others for at most this long.
   */
  probeLeaseTtl: number;
}

/** Options of {@link shareCircuitState}. */
export interface ShareCircuitStateOptions {
  /** The breakers to share (default: the package's module functions, i.e. its default registry). */
  breakers?: SharedBreakers;
  /** Prepended to every key and to the channel (default `'circuit-breaker:'`). */
  prefix?: string;
  /**
   * Count failures fleet-wide (default false): every process's failures go into one count
   * in Redis, and the fleet opens once it reaches `failureThreshold` within `failureWindow`.
   * Each breaker still also opens on its own failures, as without sharing.
   */
  countFailuresFleetWide?: boolean;
  /** Fleet-wide settings for every executor. */
  defaults?: Partial<FleetSettings>;
  /** Fleet-wide settings per executor, over `defaults`. */
  executors?: Record<string, Partial<FleetSettings>>;
  /**
   * How long one Redis command may take before it counts as failed, in ms (default 1000).
   * A failed command is reported as an `'error'` event; callers never wait for one.
   */
  commandTimeout?: number;
  /** This process's name in the records (default `hostname:pid:random`). Must be unique in the fleet. */
  processId?: string;
}

/** An error of the sharing (Redis down, slow, a bad record); the breakers went on locally. */
export class CircuitSharingError extends Error {
  /** What was being done: `publish`, `count-failure`, `acquire-probe`, `release-probe`, `sync`, `subscribe`, `connection`, `message`. */
  readonly operation: string;
  /** The executor concerned, when there is one. */
  readonly executorName: string | undefined;

  /** Wraps `cause`, what went wrong while doing `operation` (for `executorName`, if any). */
  constructor(operation: string, executorName: string | undefined, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`circuit state sharing: ${operation}${executorName === undefined ? '' : ` of "${executorName}"`} failed: ${reason}`, {
      cause,
    });
    this.name = 'CircuitSharingError';
    this.operation = operation;
    this.executorName = executorName;
  }
}

/** The events of a {@link SharedCircuitState}. */
export interface SharedCircuitStateEvents {
  /** Something went wrong with Redis; the breakers keep protecting calls locally. */
  error: (error: CircuitSharingError) => void;
  /** The state keys were read and applied (after connecting, and after every reconnection). */
  synced: () => void;
}

/** A record of the fleet's state of one circuit, as stored and published. */
interface StateRecord {
  name: string;
  state: 'OPEN' | 'CLOSED';
  until: number | null;
  origin: string;
  seq: number;
}

/** This process's part in the probing of one half-open circuit. */
interface Probe {
  /** Whether this process holds the lease (until `until`, local clock, a safe lower bound). */
  owner: boolean;
  until: number;
  /** A lease request or renewal is on its way. */
  pending: boolean;
}

const OPTION_KEYS = [
  'breakers',
  'prefix',
  'countFailuresFleetWide',
  'defaults',
  'executors',
  'commandTimeout',
  'processId',
];
const SETTING_KEYS: (keyof FleetSettings)[] = ['failureThreshold', 'failureWindow', 'resetTimeout', 'probeLeaseTtl'];
const METHODS = ['on', 'off', 'getState', 'getStats', 'getExecutors', 'openCircuit', 'closeCircuit', 'tripCircuit', 'setProbeGate'];

/** How long a state key outlives the opening it records, in ms. */
const STATE_MARGIN = 5_000;
/** A lease is renewed when less than this share of its ttl is left. */
const RENEW_AT = 0.5;

function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

function checkSettings(value: unknown, where: string): Partial<FleetSettings> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object, got ${kind(value)}`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (!SETTING_KEYS.includes(key as keyof FleetSettings)) {
      throw new TypeError(`${where}: unknown setting ${JSON.stringify(key)} (settings: ${SETTING_KEYS.join(', ')})`);
    }
    const integer = key === 'failureThreshold';
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      throw new RangeError(`${where}.${key} must be ${integer ? 'a positive integer' : 'a positive finite number of ms'}, got ${String(v)}`);
    }
  }
  return value as Partial<FleetSettings>;
}

function parseRecord(text: string): StateRecord | null {
  try {
    const r = JSON.parse(text) as Partial<StateRecord> & { until?: unknown };
    if (
      typeof r === 'object' &&
      r !== null &&
      typeof r.name === 'string' &&
      (r.state === 'OPEN' || r.state === 'CLOSED') &&
      typeof r.origin === 'string' &&
      typeof r.seq === 'number'
    ) {
      return { name: r.name, state: r.state, until: typeof r.until === 'number' ? r.until : null, origin: r.origin, seq: r.seq };
    }
  } catch {
    // reported by the caller
  }
  return null;
}

/**
 * A live connection of a registry's breakers to Redis, made by {@link shareCircuitState}.
 * Emits `'error'` (never throws) and `'synced'`.
 */
export class SharedCircuitState extends EventEmitter<SharedCircuitStateEvents> {
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #breakers: SharedBreakers;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #fleetFailures: boolean;
  readonly #defaults: FleetSettings;
  readonly #perExecutor: Record<string, Partial<FleetSettings>>;
  readonly #commandTimeout: number;
  readonly #processId: string;

  readonly #gates = new Map<string, SharedProbeGate>();
  readonly #probes = new Map<string, Probe>();
  /** The highest sequence number applied or written, per executor. */
  readonly #seen = new Map<string, number>();
  /** Executors whose local state Redis has not heard of (a write failed). */
  readonly #dirty = new Set<string>();
  /** Writes on their way, per executor; remote records met meanwhile wait for them. */
  readonly #writing = new Map<string, { count: number; held: StateRecord | null }>();
  readonly #cleanup: (() => void)[] = [];

  #applying = false;
  #closed = false;
  /** The last command failed (timeout, error): probes go by the local breakers only. */
  #failing = false;
  #failureSeq = 0;
  #syncing: Promise<void> | null = null;
  /** A sync planned after a failed command, to find out when Redis answers again. */
  #retry: ReturnType<typeof setTimeout> | null = null;
  #syncAgain = false;
  /** Whether the first `'error'` of this outage was already reported as a warning. */
  #warned = false;

  /** @internal Use {@link shareCircuitState}. */
  constructor(redis: Redis, options: ShareCircuitStateOptions) {
    super();
    const where = 'shareCircuitState';
    this.#redis = redis;
    this.#breakers = breakersOf(options.breakers, where);
    const prefix = options.prefix ?? 'circuit-breaker:';
    if (typeof prefix !== 'string') throw new TypeError(`${where}: prefix must be a string, got ${kind(prefix)}`);
    this.#prefix = prefix;
    this.#channel = `${prefix}events`;
    const fleet = options.countFailuresFleetWide ?? false;
    if (typeof fleet !== 'boolean') {
      throw new TypeError(`${where}: countFailuresFleetWide must be a boolean, got ${kind(fleet)}`);
    }
    this.#fleetFailures = fleet;
    this.#defaults = {
      failureThreshold: core.DEFAULT_CONFIG.failureThreshold,
      failureWindow: core.DEFAULT_CONFIG.failureWindow,
      resetTimeout: core.DEFAULT_CONFIG.resetTimeout,
      probeLeaseTtl: core.DEFAULT_CONFIG.requestTimeout + 5_000,
      ...checkSettings(options.defaults, `${where}: defaults`),
    };
    const executors = options.executors ?? {};
    if (typeof executors !== 'object' || executors === null || Array.isArray(executors)) {
      throw new TypeError(`${where}: executors must be an object, got ${kind(executors)}`);
    }
    for (const [name, settings] of Object.entries(executors)) checkSettings(settings, `${where}: executors.${name}`);
    this.#perExecutor = executors;
    const commandTimeout = options.commandTimeout ?? 1_000;
    if (typeof commandTimeout !== 'number' || !(commandTimeout > 0) || !Number.isFinite(commandTimeout)) {
      throw new RangeError(`${where}: commandTimeout must be a positive finite number of ms, got ${String(commandTimeout)}`);
    }
    this.#commandTimeout = commandTimeout;
    const processId = options.processId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    if (typeof processId !== 'string' || processId === '') {
      throw new TypeError(`${where}: processId must be a non-empty string, got ${kind(processId)}`);
    }
    this.#processId = processId;

    this.#sub = redis.duplicate();
    this.#listen();
  }

  /** This process's name in the records. */
  get processId(): string {
    return this.#processId;
  }

  /** Whether both connections (commands, and the subscriber) are up and the last command worked. */
  get connected(): boolean {
    return !this.#closed && this.#usable() && this.#sub.status === 'ready';
  }

  /** Whether {@link SharedCircuitState.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes the local states Redis missed, then reads every state key and applies it. Runs
   * by itself on connecting and on every reconnection. Never rejects.
   */
  sync(): Promise<void> {
    if (this.#syncing) {
      this.#syncAgain = true;
      return this.#syncing;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#syncAgain = false;
          await this.#syncOnce();
        } while (this.#syncAgain && !this.#closed);
      } finally {
        this.#syncing = null;
      }
    };
    return (this.#syncing = run());
  }

  /**
   * Disconnects from Redis: removes every listener and probe gate it installed, gives back
   * the probe leases it holds, and closes the subscriber connection it made. The caller's
   * own connection stays open (the caller owns it). The breakers go on as before, locally.
   * Never rejects; calling it again does nothing.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    const owned = [...this.#probes].filter(([, p]) => p.owner).map(([name]) => name);
    this.#closed = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
    for (const undo of this.#cleanup.splice(0)) undo();
    for (const name of this.#gates.keys()) {
      try {
        this.#breakers.setProbeGate(name, null);
      } catch {
        // a registry destroyed meanwhile: nothing to remove
      }
    }
    this.#gates.clear();
    this.#probes.clear();
    if (this.#redis.status === 'ready') {
      await Promise.all(
        owned.map((name) =>
          this.#command('release-probe', name, RELEASE_PROBE, [this.#key('probe', name)], [this.#processId], true),
        ),
      );
    }
    this.#sub.disconnect();
    this.removeAllListeners();
  }

  // ---- wiring ----------------------------------------------------------------------------

  #listen(): void {
    const b = this.#breakers;
    const guard =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A): void => {
        try {
          fn(...args);
        } catch (error) {
          this.#report('message', undefined, error);
        }
      };
    const onOpened = guard((name: string, stats: CircuitBreakerStats) => this.#onLocalChange(name, stats));
    const onClosed = guard((name: string, stats: CircuitBreakerStats) => this.#onLocalChange(name, stats));
    const onHalfOpen = guard((name: string) => this.#ensureGate(name));
    const onFailure = guard((name: string, error: Error) => this.#onFailure(name, error));
    b.on('circuit:opened', onOpened);
    b.on('circuit:closed', onClosed);
    b.on('circuit:half-open', onHalfOpen);
    if (this.#fleetFailures) b.on('request:failure', onFailure);
    this.#cleanup.push(() => {
      b.off('circuit:opened', onOpened);
      b.off('circuit:closed', onClosed);
      b.off('circuit:half-open', onHalfOpen);
      if (this.#fleetFailures) b.off('request:failure', onFailure);
    });
    for (const name of b.getExecutors()) this.#ensureGate(name);

    const redis = this.#redis;
    const sub = this.#sub;
    // A lost connection is reported once, when it goes; the reconnection attempts' own errors too.
    let redisUp = redis.status === 'ready';
    const onRedisError = (error: unknown): void => this.#report('connection', undefined, error);
    const onRedisReady = (): void => {
      redisUp = true;
      void this.sync();
    };
    const onRedisClose = (): void => {
      if (redisUp) this.#report('connection', undefined, new Error('lost the connection to Redis'));
      redisUp = false;
    };
    redis.on('error', onRedisError);
    redis.on('ready', onRedisReady);
    redis.on('close', onRedisClose);
    this.#cleanup.push(() => {
      redis.off('error', onRedisError);
      redis.off('ready', onRedisReady);
      redis.off('close', onRedisClose);
    });

    let subUp = false;
    sub.on('error', (error: unknown) => {
      if (!this.#closed) this.#report('connection', undefined, error);
    });
    sub.on('close', () => {
      if (subUp && !this.#closed) this.#report('subscribe', undefined, new Error('lost the subscriber connection to Redis'));
      subUp = false;
    });
    sub.on('ready', () => {
      subUp = true;
      if (this.#closed) return;
      sub.subscribe(this.#channel).then(
        () => void this.sync(),
        (error: unknown) => this.#report('subscribe', undefined, error),
      );
    });
    sub.on('message', (channel: string, message: string) => {
      if (this.#closed || channel !== this.#channel) return;
      const record = parseRecord(message);
      if (record === null) {
        this.#report('message', undefined, new Error(`not a state record: ${message.slice(0, 200)}`));
        return;
      }
      guard(() => this.#receive(record))();
    });
    if (sub.status === 'wait') sub.connect().catch(() => {}); // a lazyConnect original: errors come as 'error' events
  }

  #settings(name: string): FleetSettings {
    const own = Object.hasOwn(this.#perExecutor, name) ? this.#perExecutor[name] : undefined;
    return own === undefined ? this.#defaults : { ...this.#defaults, ...own };
  }

  #key(kind: 'state' | 'failures' | 'probe', name: string): string {
    return `${this.#prefix}${kind}:${name}`;
  }

  /** Commands are sent only on a ready connection: they never wait in ioredis's offline queue. */
  #usable(): boolean {
    return !this.#closed && this.#redis.status === 'ready' && !this.#failing;
  }

  #report(operation: string, name: string | undefined, cause: unknown): void {
    const error = cause instanceof CircuitSharingError ? cause : new CircuitSharingError(operation, name, cause);
    if (this.listenerCount('error') > 0) {
      this.emit('error', error);
    } else if (!this.#warned) {
      this.#warned = true;
      process.emitWarning(error.message, { type: 'CircuitSharingWarning' });
    }
  }

  /**
   * Runs a script with a deadline. Resolves to its reply, or to undefined (and reports)
   * when Redis is not ready, errs or is too slow. Never rejects.
   */
  async #command(
    operation: string,
    name: string | undefined,
    script: Script,
    keys: string[],
    args: (string | number)[],
    evenIfClosed = false,
  ): Promise<unknown> {
    if ((this.#closed && !evenIfClosed) || this.#redis.status !== 'ready') return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.#commandTimeout} ms`)), this.#commandTimeout);
      timer.unref?.();
    });
    const call = async (): Promise<unknown> => {
      try {
        return await this.#redis.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
        return await this.#redis.eval(script.lua, keys.length, ...keys, ...args);
      }
    };
    const pending = call();
    pending.catch(() => {}); // a late failure after the deadline is already reported
    try {
      const reply = await Promise.race([pending, deadline]);
      if (this.#failing) {
        this.#failing = false;
        this.#warned = false;
        if (this.#dirty.size > 0) void this.sync();
      }
      return reply;
    } catch (error) {
      if (!this.#closed) {
        this.#fail();
        this.#report(operation, name, error);
      }
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A command failed on a connection that may still be up (Redis slow, or an error): go
   * local, and try a sync in a while to learn when Redis answers again. A reconnection
   * syncs by itself.
   */
  #fail(): void {
    this.#failing = true;
    if (this.#retry !== null || this.#closed) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      void this.sync();
    }, Math.max(this.#commandTimeout, 500));
    this.#retry.unref?.();
  }

  // ---- local changes -> Redis -------------------------------------------------------------

  #onLocalChange(name: string, stats: CircuitBreakerStats): void {
    this.#ensureGate(name);
    this.#leaveProbing(name);
    if (this.#applying) return;
    this.#write(name, stats);
  }

  /** Writes the local state of `name` to Redis and tells the fleet (fire-and-forget). */
  #write(name: string, stats: CircuitBreakerStats): void {
    let state: 'OPEN' | 'CLOSED';
    let until: number | null = null;
    let ttl = 0;
    if (stats.state === core.CircuitState.CLOSED) {
      state = 'CLOSED';
    } else {
      state = 'OPEN';
      if (stats.state === core.CircuitState.HALF_OPEN) {
        until = Date.now(); // due already: others keep their own half-open
      } else if (stats.nextAttemptTime !== null) {
        until = stats.nextAttemptTime.getTime();
      }
      ttl = until === null ? 0 : Math.max(0, until - Date.now()) + STATE_MARGIN;
    }
    if (this.#redis.status !== 'ready') {
      this.#dirty.add(name);
      return;
    }
    this.#dirty.delete(name);
    const writing = this.#writing.get(name) ?? { count: 0, held: null };
    writing.count++;
    this.#writing.set(name, writing);
    const keys = [this.#key('state', name), `${this.#prefix}seq`, this.#key('failures', name), this.#key('probe', name)];
    const args = [this.#channel, name, state, until === null ? '' : String(until), this.#processId, Math.ceil(ttl)];
    void this.#command('publish', name, PUBLISH_STATE, keys, args).then((seq) => {
      if (typeof seq === 'number') this.#seen.set(name, Math.max(seq, this.#seen.get(name) ?? 0));
      else if (!this.#closed) this.#dirty.add(name);
      if (--writing.count === 0) {
        this.#writing.delete(name);
        const held = writing.held;
        if (held !== null && !this.#closed) this.#receive(held);
      }
    });
  }

  #onFailure(name: string, error: Error): void {
    if (error?.name === 'AbortError') return; // abandoned by the caller: not the service's failure
    if (this.#breakers.getState(name) !== core.CircuitState.CLOSED) return; // a probe, or a late result
    const { failureWindow, failureThreshold, resetTimeout } = this.#settings(name);
    const member = `${this.#processId}:${++this.#failureSeq}`;
    void this.#command('count-failure', name, COUNT_FAILURE, [this.#key('failures', name)], [failureWindow, failureThreshold, member]).then(
      (trip) => {
        if (trip !== 1 || this.#closed) return;
        // The fleet reached the threshold with this failure: open here; the opened event tells the others.
        if (this.#breakers.getState(name) === core.CircuitState.CLOSED) {
          this.#breakers.tripCircuit(name, new Date(Date.now() + resetTimeout));
        }
      },
    );
  }

  // ---- Redis -> local ---------------------------------------------------------------------

  /** Applies a record of the fleet's state, unless it is this process's own or not newer than what was seen. */
  #receive(record: StateRecord): void {
    if (record.origin === this.#processId) return;
    const name = record.name;
    const writing = this.#writing.get(name);
    if (writing !== undefined) {
      // Our own write is on its way: its sequence number decides which is newer.
      if (writing.held === null || writing.held.seq < record.seq) writing.held = record;
      return;
    }
    if (record.seq <= (this.#seen.get(name) ?? 0)) return;
    this.#seen.set(name, record.seq);
    if (this.#dirty.has(name)) return; // our unrecorded state goes to Redis at the next sync, and wins
    this.#apply(record);
  }

  #apply(record: StateRecord): void {
    const b = this.#breakers;
    const name = record.name;
    const local = b.getState(name);
    this.#applying = true;
    try {
      if (record.state === 'CLOSED') {
        if (local === null) return; // no breaker here: closed already, nothing to create
        if (local !== core.CircuitState.CLOSED) b.closeCircuit(name);
      } else if (record.until === null) {
        if (local !== core.CircuitState.OPEN || b.getStats(name)?.nextAttemptTime !== null) b.openCircuit(name);
      } else if (record.until > Date.now()) {
        b.tripCircuit(name, new Date(record.until));
      }
    } finally {
      this.#applying = false;
    }
    this.#ensureGate(name);
  }

  async #syncOnce(): Promise<void> {
    if (this.#closed || this.#redis.status !== 'ready' || this.#sub.status !== 'ready') return;
    this.#failing = false;
    // Redis may have restarted (its sequence with it): every record is new again.
    this.#seen.clear();
    for (const name of [...this.#dirty]) {
      const stats = this.#breakers.getStats(name);
      if (stats === null) this.#dirty.delete(name);
      else this.#write(name, stats);
    }
    try {
      const match = `${this.#prefix.replace(/[*?[\]\\]/g, '\\$&')}state:*`;
      const keys: string[] = [];
      let cursor = '0';
      const deadline = Date.now() + 10 * this.#commandTimeout;
      do {
        const [next, found] = await this.#timed(this.#redis.scan(cursor, 'MATCH', match, 'COUNT', 500));
        cursor = next;
        keys.push(...found);
        if (Date.now() > deadline) throw new Error('SCAN took too long');
      } while (cursor !== '0');
      const values = keys.length === 0 ? [] : await this.#timed(this.#redis.mget(...keys));
      if (this.#closed) return;
      for (const text of values) {
        if (text === null) continue;
        const record = parseRecord(text);
        if (record === null) this.#report('sync', undefined, new Error(`not a state record: ${text.slice(0, 200)}`));
        else this.#receive(record);
      }
      this.emit('synced');
    } catch (error) {
      if (!this.#closed) {
        this.#fail();
        this.#report('sync', undefined, error);
      }
    }
  }

  /** A promise with the command deadline. */
  async #timed<T>(promise: Promise<T>): Promise<T> {
    promise.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.#commandTimeout} ms`)), this.#commandTimeout);
          timer.unref?.();
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- the fleet's probe lease --------------------------------------------------------------

  #ensureGate(name: string): void {
    if (this.#closed || this.#gates.has(name)) return;
    const gate: SharedProbeGate = {
      tryAcquire: () => this.#tryProbe(name),
      release: () => {},
    };
    this.#gates.set(name, gate);
    this.#breakers.setProbeGate(name, gate);
  }

  #probe(name: string): Probe {
    let probe = this.#probes.get(name);
    if (probe === undefined) this.#probes.set(name, (probe = { owner: false, until: 0, pending: false }));
    return probe;
  }

  /**
   * May a half-open call of `name` probe? Yes while this process holds the fleet's lease
   * (the breaker's own slots then limit it to successThreshold at once). Without the lease,
   * no, and the lease is asked for. With Redis out of reach, the local breaker decides.
   */
  #tryProbe(name: string): boolean {
    if (!this.#usable() || this.#sub.status !== 'ready') return true;
    const probe = this.#probe(name);
    const now = Date.now();
    const ttl = this.#settings(name).probeLeaseTtl;
    if (probe.owner && probe.until > now) {
      if (probe.until - now < ttl * RENEW_AT) this.#requestLease(name, probe, ttl);
      return true;
    }
    probe.owner = false;
    this.#requestLease(name, probe, ttl);
    return false;
  }

  #requestLease(name: string, probe: Probe, ttl: number): void {
    if (probe.pending) return;
    probe.pending = true;
    const sentAt = Date.now();
    void this.#command('acquire-probe', name, ACQUIRE_PROBE, [this.#key('probe', name), this.#key('state', name)], [this.#processId, ttl]).then(
      (reply) => {
        probe.pending = false;
        if (!Array.isArray(reply)) return;
        const [status, text] = reply as [number, string?];
        const current = !this.#closed && this.#probes.get(name) === probe;
        if (status === 1) {
          if (current && this.#breakers.getState(name) === core.CircuitState.HALF_OPEN) {
            probe.owner = true;
            probe.until = sentAt + ttl;
          } else {
            // Granted too late (the circuit moved on, or close()): give it back at once.
            if (current) this.#probes.delete(name);
            void this.#command('release-probe', name, RELEASE_PROBE, [this.#key('probe', name)], [this.#processId], true);
          }
        } else if (!current) {
          return;
        } else if (status === 0) {
          probe.owner = false;
        } else if (typeof text === 'string') {
          // The fleet closed the circuit while this process was asking to probe it.
          const record = parseRecord(text);
          if (record !== null) this.#receive(record);
        }
      },
    );
  }

  /**
   * The circuit left HALF_OPEN: forget the lease. A local change's own state write deletes
   * it in Redis; when the change came from another replica, give ours back explicitly.
   */
  #leaveProbing(name: string): void {
    const probe = this.#probes.get(name);
    if (probe === undefined) return;
    this.#probes.delete(name);
    if (probe.owner && this.#applying) {
      void this.#command('release-probe', name, RELEASE_PROBE, [this.#key('probe', name)], [this.#processId]);
    }
  }
}

function breakersOf(source: SharedBreakers | undefined, where: string): SharedBreakers {
  const b = (source ?? core) as unknown as Record<string, unknown>;
  const missing =
    typeof b !== 'object' || b === null ? METHODS : METHODS.filter((m) => typeof b[m] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(
      source === undefined
        ? `${where}: this version of executor-circuit-breaker lacks ${missing.join(', ')}`
        : `${where}: breakers must be a circuit breaker registry (an object with ${METHODS.join(', ')}), got ${kind(source)}`,
    );
  }
  return b as unknown as SharedBreakers;
}

/**
 * Shares the circuits of a registry (by default the package's default registry) with every
 * other process connected to the same Redis under the same `prefix`:
 *
 * - a circuit that opens (on failures, or by `openCircuit`) opens in every process, with the
 *   same next attempt time; `closeCircuit`, `reset` and a recovery close it everywhere;
 * - with `countFailuresFleetWide`, the failures of every process count together;
 * - in HALF_OPEN, one process at a time holds the probe lease and runs at most
 *   `successThreshold` probes; the others reject as if every probe slot were taken.
 *
 * `redis` is an ioredis connection the caller owns: it is used for commands (only while it
 * is ready) and duplicated once for the subscription. Redis trouble never reaches a call:
 * the breakers keep working locally and the handle emits `'error'`.
 * Throws a `TypeError` or `RangeError` for bad arguments.
 */
export function shareCircuitState(redis: Redis, options: ShareCircuitStateOptions = {}): SharedCircuitState {
  const where = 'shareCircuitState';
  if (
    typeof redis !== 'object' ||
    redis === null ||
    typeof (redis as Redis).duplicate !== 'function' ||
    typeof (redis as Redis).evalsha !== 'function'
  ) {
    throw new TypeError(`${where}: redis must be an ioredis connection (new Redis(...)), got ${kind(redis)}`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${kind(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new TypeError(`${where}: unknown option ${JSON.stringify(key)} (options: ${OPTION_KEYS.join(', ')})`);
    }
  }
  return new SharedCircuitState(redis, options);
}
