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
 * connection it is handed, a `Redis` (also one through Sentinel) or a `Cluster`, and a
 * duplicate of it for pub/sub. See docs/distributed.md.
 *
 * @packageDocumentation
 * @module redis
 */
import { EventEmitter } from 'eventemitter3';
import type { Redis } from 'ioredis';
import * as core from '../index.js';
import type { CircuitBreakerStats } from '../index.js';
import type { FleetSettings, RedisConnection, ShareCircuitStateOptions, SharedBreakers } from './types.js';
import { RedisCommands } from './commands.js';
import { ProbeLeases } from './leases.js';
import { checkArguments, resolveOptions } from './options.js';
import { parseMessage, parseRecord, type StateRecord } from './record.js';
import { COUNT_FAILURE, READ_STATE, SCRIPTS, WRITE_STATE } from './scripts.js';

// This file: `shareCircuitState` and the `SharedCircuitState` handle (the wiring to the
// breakers and to Redis, the propagation of states both ways, the sync). Its parts:
// types.ts (the public option types), options.ts (argument checking), commands.ts (commands
// with a deadline), leases.ts (the probe lease), record.ts, scripts.ts (Lua).

export type { FleetSettings, RedisConnection, ShareCircuitStateOptions, SharedBreakers } from './types.js';

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

/** The probe lease's base when probes have no timeout, in ms. */
const NO_TIMEOUT_LEASE = 30_000;

/** Breakers shared right now: a second sharing of the same breakers would double every write. */
const attached = new WeakSet<object>();

/** A local change Redis has not heard of yet (Redis away or too slow), and whether it was made by hand. */
type Unwritten = { manual: boolean };

/**
 * A live connection of a registry's breakers to Redis, made by {@link shareCircuitState}.
 * Emits `'error'` (never throws) and `'synced'`.
 */
export class SharedCircuitState extends EventEmitter<SharedCircuitStateEvents> {
  readonly #redis: RedisConnection;
  readonly #sub: RedisConnection;
  readonly #breakers: SharedBreakers;
  readonly #now: () => number;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #fleetFailures: boolean;
  readonly #defaults: Partial<FleetSettings>;
  readonly #perExecutor: Record<string, Partial<FleetSettings>>;
  readonly #commandTimeout: number;
  readonly #processId: string;

  readonly #commands: RedisCommands;
  readonly #leases: ProbeLeases;
  /** The version of the last record applied or written, per executor. */
  readonly #seen = new Map<string, number>();
  /** Executors whose local state Redis has not heard of (a write failed). */
  readonly #dirty = new Map<string, Unwritten>();
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
  /** The executor whose probe is settling right now: a close that follows is the probes' doing. */
  #settling: string | null = null;

  /** @internal Use {@link shareCircuitState}. */
  constructor(redis: RedisConnection, options: ShareCircuitStateOptions) {
    super();
    const where = 'shareCircuitState';
    const config = resolveOptions(options, where);
    if (attached.has(config.breakers)) {
      throw new TypeError(
        `${where}: these breakers are already shared (close() their SharedCircuitState first): a second sharing would double every write`,
      );
    }
    const breakers = config.breakers;
    this.#redis = redis;
    this.#breakers = breakers;
    this.#now = typeof breakers.now === 'function' ? () => breakers.now!() : () => Date.now();
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
      breakers,
      processId: this.#processId,
      channel: this.#channel,
      closed: () => this.#closed,
      reachable: () => this.#commands.usable() && this.#sub.status === 'ready',
      applying: () => this.#applying,
      settling: (name) => {
        this.#settling = name;
        queueMicrotask(() => {
          if (this.#settling === name) this.#settling = null;
        });
      },
      settings: (name) => this.#settings(name),
      key: (kind, name) => this.#key(kind, name),
      command: (operation, name, script, keys, args, evenIfClosed) =>
        this.#commands.run(operation, name, script, keys, args, evenIfClosed),
      receive: (record) => this.#adopt(record),
    });

    this.#sub = redis.duplicate();
    attached.add(breakers);
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
   * Writes the local states Redis missed, then reads every state key and applies it, and
   * writes back the open circuits Redis lost (a restart without persistence). Runs by itself
   * on connecting and on every reconnection. Never rejects.
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
   * own connection stays open (the caller owns it). The breakers go on as before, locally,
   * and may be shared again. Never rejects; calling it again does nothing. Runs by itself
   * when the caller's connection ends (`disconnect()`, `quit()`).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    const owned = this.#leases.owned();
    this.#closed = true;
    attached.delete(this.#breakers);
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
    const onOpened = guard((name: string, stats: CircuitBreakerStats) => this.#onLocalChange(name, stats, stats.nextAttemptTime === null));
    // A close is the probes' doing when one of them is settling; otherwise closeCircuit or reset.
    const onClosed = guard((name: string, stats: CircuitBreakerStats) => this.#onLocalChange(name, stats, this.#settling !== name));
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
    // The caller closed its connection for good: nothing more to share, and the subscriber
    // must not keep the process alive.
    const onRedisEnd = (): void => void this.close();
    redis.on('error', onRedisError);
    redis.on('ready', onRedisReady);
    redis.on('close', onRedisClose);
    redis.on('end', onRedisEnd);
    this.#cleanup.push(() => {
      redis.off('error', onRedisError);
      redis.off('ready', onRedisReady);
      redis.off('close', onRedisClose);
      redis.off('end', onRedisEnd);
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
    sub.on('message', (channel: string, text: string) => {
      if (this.#closed || channel !== this.#channel) return;
      const message = parseMessage(text);
      if (message === null) {
        this.#report('message', undefined, new Error(`not a state record: ${text.slice(0, 200)}`));
      } else if ('lease' in message) {
        if (message.origin !== this.#processId) this.#leases.freed(message.name);
      } else {
        guard(() => this.#receive(message))();
      }
    });
    if (sub.status === 'wait') sub.connect().catch(() => {}); // a lazyConnect original: errors come as 'error' events
  }

  /** The executor's own configuration, then `defaults`, then its entry in `executors`. */
  #settings(name: string): FleetSettings {
    const config = this.#breakers.getConfig(name) ?? core.DEFAULT_CONFIG;
    const own = Object.hasOwn(this.#perExecutor, name) ? this.#perExecutor[name] : undefined;
    const probeFor = Number.isFinite(config.requestTimeout) ? config.requestTimeout : NO_TIMEOUT_LEASE;
    return {
      failureThreshold: config.failureThreshold,
      failureWindow: config.failureWindow,
      resetTimeout: config.resetTimeout,
      probeLeaseTtl: Math.ceil(probeFor) + PROBE_LEASE_MARGIN,
      ...this.#defaults,
      ...own,
    };
  }

  /** The key of `name`'s `kind`; every key of one executor carries its name as a hash tag (one Cluster slot). */
  #key(kind: 'state' | 'failures' | 'probe', name: string): string {
    return `${this.#prefix}{${name}}:${kind}`;
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

  #onLocalChange(name: string, stats: CircuitBreakerStats, manual: boolean): void {
    this.#leases.ensureGate(name);
    this.#leases.leave(name);
    if (this.#applying) return;
    this.#write(name, stats, manual);
  }

  /**
   * Writes the local state of `name` to Redis, which tells the fleet (fire-and-forget).
   * `restore`: only where Redis holds no record of it (it lost the fleet's).
   */
  #write(name: string, stats: CircuitBreakerStats, manual: boolean, restore = false): void {
    let state: 'OPEN' | 'CLOSED';
    let openFor = '';
    if (stats.state === core.CircuitState.CLOSED) {
      state = 'CLOSED';
    } else {
      state = 'OPEN';
      // Half-open: due already (the others keep their own half-open). The fleet gets a
      // duration, never this process's clock.
      const until = stats.nextAttemptTime;
      if (stats.state === core.CircuitState.HALF_OPEN) openFor = '0';
      else if (until !== null) openFor = String(Math.max(0, Math.ceil(until.getTime() - this.#now())));
    }
    if (this.#redis.status !== 'ready') {
      this.#dirty.set(name, { manual });
      return;
    }
    this.#dirty.delete(name);
    const writing = this.#writing.get(name) ?? { count: 0, held: null };
    writing.count++;
    this.#writing.set(name, writing);
    const keys = [this.#key('state', name), this.#key('failures', name), this.#key('probe', name)];
    const base = this.#seen.get(name) ?? 0;
    const args = [this.#channel, name, state, openFor, this.#processId, base, manual ? '1' : '0', restore ? '1' : '0'];
    void this.#commands.run('publish', name, WRITE_STATE, keys, args).then((reply) => {
      let refusedBy: StateRecord | null = null;
      if (Array.isArray(reply) && reply[0] === 1 && typeof reply[1] === 'number') {
        this.#seen.set(name, Math.max(reply[1], this.#seen.get(name) ?? 0));
      } else if (Array.isArray(reply) && reply[0] === 0 && typeof reply[1] === 'string') {
        // A newer record, or a hold by hand, stands: it is the fleet's state, here too.
        refusedBy = parseRecord(reply[1], reply[2]);
        if (refusedBy === null && !this.#closed) this.#report('publish', name, new Error(`not a state record: ${reply[1].slice(0, 200)}`));
      } else if (!this.#closed) {
        this.#dirty.set(name, { manual });
      }
      if (--writing.count === 0) this.#writing.delete(name);
      if (this.#closed) return;
      if (refusedBy !== null) this.#adopt(refusedBy);
      if (writing.count === 0 && writing.held !== null) this.#receive(writing.held);
    });
  }

  #onFailure(name: string, error: Error): void {
    if (error?.name === 'AbortError') return; // abandoned by the caller: not the service's failure
    if (this.#breakers.getState(name) !== core.CircuitState.CLOSED) return; // a probe, or a late result
    const { failureWindow, failureThreshold, resetTimeout } = this.#settings(name);
    const member = `${this.#processId}:${++this.#failureSeq}`;
    const keys = [this.#key('failures', name), this.#key('state', name), this.#key('probe', name)];
    const args = [failureWindow, failureThreshold, member, Math.ceil(resetTimeout), this.#channel, name, this.#processId];
    void this.#commands.run('count-failure', name, COUNT_FAILURE, keys, args).then((reply) => {
      // 1: this failure opened the fleet (the script wrote and published it); 2: it was open already.
      if (!Array.isArray(reply) || (reply[0] !== 1 && reply[0] !== 2) || typeof reply[1] !== 'string' || this.#closed) return;
      const record = parseRecord(reply[1], reply[2]);
      if (record !== null) this.#adopt(record);
    });
  }

  // ---- Redis -> local ---------------------------------------------------------------------

  /** Applies a record published by another process, unless it is not newer than what was seen. */
  #receive(record: StateRecord): void {
    if (record.origin === this.#processId) return; // our own write: its reply was applied
    const name = record.name;
    const writing = this.#writing.get(name);
    if (writing !== undefined) {
      // Our own write is on its way: its version decides which is newer.
      if (writing.held === null || writing.held.version < record.version) writing.held = record;
      return;
    }
    if (record.version <= (this.#seen.get(name) ?? 0)) return;
    this.#seen.set(name, record.version);
    if (this.#dirty.has(name)) return; // our unrecorded state goes to Redis at the next sync
    this.#apply(record);
  }

  /** Applies a record Redis answered with (a refused write, the fleet count): the fleet's state now. */
  #adopt(record: StateRecord): void {
    const seen = this.#seen.get(record.name) ?? 0;
    if (record.version < seen) return;
    this.#seen.set(record.name, record.version);
    this.#dirty.delete(record.name);
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
      } else {
        // Open for `remaining` ms more by Redis's clock: the same span on ours, whatever its skew.
        const remaining = Math.max(0, record.remaining ?? 0);
        // Due already, and half-open here: the fleet is probing, this process with it.
        if (remaining === 0 && local === core.CircuitState.HALF_OPEN) return;
        b.tripCircuit(name, new Date(this.#now() + remaining));
      }
    } finally {
      this.#applying = false;
    }
    this.#leases.ensureGate(name);
  }

  async #syncOnce(): Promise<void> {
    if (this.#closed || this.#redis.status !== 'ready' || this.#sub.status !== 'ready') return;
    this.#commands.clearFailure();
    const atStart = new Map(this.#seen);
    for (const [name, { manual }] of [...this.#dirty]) {
      const stats = this.#breakers.getStats(name);
      if (stats === null) this.#dirty.delete(name);
      else this.#write(name, stats, manual);
    }
    try {
      const nodes = this.#masters();
      // Loaded ahead of need: the first failure of an outage then costs one round trip, not
      // a NOSCRIPT and a second one. Where SCRIPT LOAD is refused, EVAL still serves.
      for (const node of nodes) for (const s of SCRIPTS) node.script('LOAD', s.lua).catch(() => {});
      const keys = await this.#stateKeys(nodes);
      const read = await Promise.all(
        keys.map((key) => this.#commands.timed(this.#redis.evalsha(READ_STATE.sha, 1, key).catch(async (error: unknown) => {
          if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
          return this.#redis.eval(READ_STATE.lua, 1, key);
        }))),
      );
      if (this.#closed) return;
      const found = new Set<string>();
      for (const reply of read) {
        const [text, remaining] = reply as [string | null | false, number | null | false];
        if (typeof text !== 'string') continue; // expired since the scan
        const record = parseRecord(text, remaining);
        if (record === null) {
          this.#report('sync', undefined, new Error(`not a state record: ${text.slice(0, 200)}`));
          continue;
        }
        found.add(record.name);
        this.#fromSync(record, atStart.get(record.name) ?? 0);
      }
      this.#restoreLost(found);
      this.emit('synced');
    } catch (error) {
      if (!this.#closed) {
        this.#commands.fail();
        this.#report('sync', undefined, error);
      }
    }
  }

  /** The connection itself, or each master of a Cluster. */
  #masters(): Redis[] {
    const redis = this.#redis;
    return 'nodes' in redis && typeof redis.nodes === 'function' ? redis.nodes('master') : [redis as Redis];
  }

  /** Every state key of this prefix, on every master of a Cluster. */
  async #stateKeys(nodes: Redis[]): Promise<string[]> {
    const match = `${this.#prefix.replace(/[*?[\]\\]/g, '\\$&')}{*}:state`;
    const keys: string[] = [];
    const deadline = Date.now() + 10 * this.#commandTimeout;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await this.#commands.timed(node.scan(cursor, 'MATCH', match, 'COUNT', 500));
        cursor = next;
        keys.push(...found);
        if (Date.now() > deadline) throw new Error('SCAN took too long');
      } while (cursor !== '0');
    }
    return keys;
  }

  /**
   * A record read by a sync. Redis is the authority: applied when it differs from the last
   * record seen (lower too: Redis lost its data and someone wrote since), unless a newer one
   * arrived while the sync was reading.
   */
  #fromSync(record: StateRecord, atStart: number): void {
    const name = record.name;
    const seen = this.#seen.get(name) ?? 0;
    if (this.#writing.has(name)) {
      this.#receive(record);
      return;
    }
    if (seen !== atStart ? record.version <= seen : record.version === seen) return;
    this.#seen.set(name, record.version);
    if (this.#dirty.has(name)) return;
    this.#apply(record);
  }

  /**
   * Writes back what Redis lost: an open circuit here with no record there (Redis restarted
   * empty) would otherwise stay unknown to a process that starts now. Only where Redis still
   * holds no record when the write arrives.
   */
  #restoreLost(found: Set<string>): void {
    for (const name of this.#breakers.getExecutors()) {
      if (found.has(name) || this.#dirty.has(name) || this.#writing.has(name)) continue;
      const stats = this.#breakers.getStats(name);
      if (stats === null || stats.state !== core.CircuitState.OPEN) continue;
      const held = stats.nextAttemptTime === null;
      if (!held && stats.nextAttemptTime!.getTime() <= this.#now()) continue;
      this.#write(name, stats, held, true);
    }
  }
}

/**
 * Shares the circuits of a registry (by default the package's default registry) with every
 * other process connected to the same Redis under the same `prefix`:
 *
 * - a circuit that opens (on failures, or by `openCircuit`) opens in every process, until the
 *   same moment (timed by Redis's clock, whatever the processes' clocks say); `closeCircuit`,
 *   `reset` and a recovery close it everywhere;
 * - the records are ordered in Redis: a change decided on an older view (a process back
 *   from a partition) cannot overturn a newer one, and a circuit held open by hand stays
 *   held until released by hand;
 * - with `countFailuresFleetWide`, the failures of every process count together;
 * - in HALF_OPEN, one process at a time holds the probe lease, while it has probes running,
 *   and runs at most `successThreshold` probes; the others reject as if every probe slot
 *   were taken.
 *
 * `redis` is an ioredis connection the caller owns (a `Redis`, also through Sentinel, or a
 * `Cluster`): it is used for commands (only while it is ready) and duplicated once for the
 * subscription. Redis trouble never reaches a call: the breakers keep working locally and
 * the handle emits `'error'`. Throws a `TypeError` or `RangeError` for bad arguments, and
 * a `TypeError` when the same breakers are already shared.
 */
export function shareCircuitState(redis: RedisConnection, options: ShareCircuitStateOptions = {}): SharedCircuitState {
  const where = 'shareCircuitState';
  checkArguments(redis, options, where);
  return new SharedCircuitState(redis, options);
}
