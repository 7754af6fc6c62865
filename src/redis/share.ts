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
 * @module redis
 */
import { EventEmitter } from 'eventemitter3';
import type { Redis } from 'ioredis';
import * as core from '../index.js';
import type { CircuitBreakerStats, ProbeGate } from '../index.js';
import type { FleetSettings, ShareCircuitStateOptions, SharedBreakers } from './types.js';
import { RedisCommands } from './commands.js';
import { ProbeLeases } from './leases.js';
import { checkArguments, resolveOptions } from './options.js';
import { parseRecord, type StateRecord } from './record.js';
import { COUNT_FAILURE, PUBLISH_STATE } from './scripts.js';

// This file: `shareCircuitState` and the `SharedCircuitState` handle (the wiring to the
// breakers and to Redis, the propagation of states both ways, the sync). Its parts:
// types.ts (the public option types), options.ts (argument checking), commands.ts (commands
// with a deadline), leases.ts (the probe lease), record.ts, scripts.ts (Lua).

export type { FleetSettings, ShareCircuitStateOptions, SharedBreakers } from './types.js';

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

/** How much longer than a probe may run its lease lasts by default, in ms. */
const PROBE_LEASE_MARGIN = 5_000;

/** How long a state key outlives the opening it records, in ms. */
const STATE_MARGIN = 5_000;

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
  readonly #defaults: Partial<FleetSettings>;
  readonly #perExecutor: Record<string, Partial<FleetSettings>>;
  readonly #commandTimeout: number;
  readonly #processId: string;

  readonly #commands: RedisCommands;
  readonly #leases: ProbeLeases;
  /** The highest sequence number applied or written, per executor. */
  readonly #seen = new Map<string, number>();
  /** Executors whose local state Redis has not heard of (a write failed). */
  readonly #dirty = new Set<string>();
  /** Writes on their way, per executor; remote records met meanwhile wait for them. */
  readonly #writing = new Map<string, { count: number; held: StateRecord | null }>();
  readonly #cleanup: (() => void)[] = [];

  #applying = false;
  #closed = false;
  #failureSeq = 0;
  #syncing: Promise<void> | null = null;
  #syncAgain = false;
  /** Whether the first `'error'` of this outage was already reported as a warning. */
  #warned = false;

  /** @internal Use {@link shareCircuitState}. */
  constructor(redis: Redis, options: ShareCircuitStateOptions) {
    super();
    const where = 'shareCircuitState';
    const config = resolveOptions(options, where);
    this.#redis = redis;
    this.#breakers = config.breakers;
    this.#prefix = config.prefix;
    this.#channel = `${config.prefix}events`;
    this.#fleetFailures = config.countFailuresFleetWide;
    this.#defaults = config.defaults;
    this.#perExecutor = config.executors;
    this.#commandTimeout = config.commandTimeout;
    this.#processId = config.processId;
    this.#commands = new RedisCommands(redis, config.commandTimeout, {
      closed: () => this.#closed,
      report: (operation, name, cause) => this.#report(operation, name, cause),
      recovered: () => {
        this.#warned = false;
        if (this.#dirty.size > 0) void this.sync();
      },
      sync: () => void this.sync(),
    });
    this.#leases = new ProbeLeases({
      breakers: this.#breakers,
      processId: this.#processId,
      closed: () => this.#closed,
      reachable: () => this.#commands.usable() && this.#sub.status === 'ready',
      applying: () => this.#applying,
      settings: (name) => this.#settings(name),
      key: (kind, name) => this.#key(kind, name),
      command: (operation, name, script, keys, args, evenIfClosed) =>
        this.#commands.run(operation, name, script, keys, args, evenIfClosed),
      receive: (record) => this.#receive(record),
    });

    this.#sub = redis.duplicate();
    this.#listen();
  }

  /** This process's name in the records. */
  get processId(): string {
    return this.#processId;
  }

  /** Whether both connections (commands, and the subscriber) are up and the last command worked. */
  get connected(): boolean {
    return !this.#closed && this.#commands.usable() && this.#sub.status === 'ready';
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
    const owned = this.#leases.owned();
    this.#closed = true;
    this.#commands.stop();
    for (const undo of this.#cleanup.splice(0)) undo();
    this.#leases.removeAll();
    if (this.#redis.status === 'ready') {
      await Promise.all(owned.map((name) => this.#leases.release(name, true)));
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
    const onHalfOpen = guard((name: string) => this.#leases.ensureGate(name));
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
    for (const name of b.getExecutors()) this.#leases.ensureGate(name);

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

  /** The executor's own configuration, then `defaults`, then its entry in `executors`. */
  #settings(name: string): FleetSettings {
    const config = this.#breakers.getConfig(name) ?? core.DEFAULT_CONFIG;
    const own = Object.hasOwn(this.#perExecutor, name) ? this.#perExecutor[name] : undefined;
    return {
      failureThreshold: config.failureThreshold,
      failureWindow: config.failureWindow,
      resetTimeout: config.resetTimeout,
      probeLeaseTtl: config.requestTimeout + PROBE_LEASE_MARGIN,
      ...this.#defaults,
      ...own,
    };
  }

  #key(kind: 'state' | 'failures' | 'probe', name: string): string {
    return `${this.#prefix}${kind}:${name}`;
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

  // ---- local changes -> Redis -------------------------------------------------------------

  #onLocalChange(name: string, stats: CircuitBreakerStats): void {
    this.#leases.ensureGate(name);
    this.#leases.leave(name);
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
    void this.#commands.run('publish', name, PUBLISH_STATE, keys, args).then((seq) => {
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
    void this.#commands.run('count-failure', name, COUNT_FAILURE, [this.#key('failures', name)], [failureWindow, failureThreshold, member]).then(
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
    this.#leases.ensureGate(name);
  }

  async #syncOnce(): Promise<void> {
    if (this.#closed || this.#redis.status !== 'ready' || this.#sub.status !== 'ready') return;
    this.#commands.clearFailure();
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
        const [next, found] = await this.#commands.timed(this.#redis.scan(cursor, 'MATCH', match, 'COUNT', 500));
        cursor = next;
        keys.push(...found);
        if (Date.now() > deadline) throw new Error('SCAN took too long');
      } while (cursor !== '0');
      const values = keys.length === 0 ? [] : await this.#commands.timed(this.#redis.mget(...keys));
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
        this.#commands.fail();
        this.#report('sync', undefined, error);
      }
    }
  }
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
  checkArguments(redis, options, where);
  return new SharedCircuitState(redis, options);
}
