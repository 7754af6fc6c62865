/**
 * The Redis commands of `executor-circuit-breaker/redis`: each script runs with a deadline
 * and only on a ready connection, never rejects, and a failure makes the sharing go local
 * until Redis answers again (a sync is planned to find out when). Internal.
 */
import type { Script } from './scripts.js';
import type { RedisConnection } from './types.js';

/** What the commands need of the sharing that owns them. */
export interface CommandHost {
  /** Whether the sharing was closed. */
  closed(): boolean;
  /** Reports a failed command as an `'error'`. */
  report(operation: string, name: string | undefined, cause: unknown): void;
  /** A command worked again after a failure. */
  recovered(): void;
  /** Writes what Redis missed and reads the fleet's state again. */
  sync(): void;
}

/** Runs the sharing's commands on the caller's connection, and knows whether the last one failed. */
export class RedisCommands {
  readonly #redis: RedisConnection;
  readonly #timeout: number;
  readonly #host: CommandHost;
  /** The last command failed (timeout, error): probes go by the local breakers only. */
  #failing = false;
  /** A sync planned after a failed command, to find out when Redis answers again. */
  #retry: ReturnType<typeof setTimeout> | null = null;

  constructor(redis: RedisConnection, timeout: number, host: CommandHost) {
    this.#redis = redis;
    this.#timeout = timeout;
    this.#host = host;
  }

  /** Commands are sent only on a ready connection: they never wait in ioredis's offline queue. */
  usable(): boolean {
    return !this.#host.closed() && this.#redis.status === 'ready' && !this.#failing;
  }

  /** Forgets the last failure (a sync is about to try Redis again). */
  clearFailure(): void {
    this.#failing = false;
  }

  /** Cancels the planned sync (at close). */
  stop(): void {
    if (this.#retry !== null) clearTimeout(this.#retry);
  }

  /**
   * Runs a script with a deadline. Resolves to its reply, or to undefined (and reports)
   * when Redis is not ready, errs or is too slow. Never rejects.
   */
  async run(
    operation: string,
    name: string | undefined,
    script: Script,
    keys: string[],
    args: (string | number)[],
    evenIfClosed = false,
  ): Promise<unknown> {
    if ((this.#host.closed() && !evenIfClosed) || this.#redis.status !== 'ready') return undefined;
    const call = async (): Promise<unknown> => {
      try {
        return await this.#redis.evalsha(script.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
        return await this.#redis.eval(script.lua, keys.length, ...keys, ...args);
      }
    };
    try {
      const reply = await this.timed(call());
      if (this.#failing) {
        this.#failing = false;
        this.#host.recovered();
      }
      return reply;
    } catch (error) {
      if (!this.#host.closed()) {
        this.fail();
        this.#host.report(operation, name, error);
      }
      return undefined;
    }
  }

  /**
   * A promise with the command deadline. A late failure, after the deadline, is not
   * reported again: the deadline was.
   */
  async timed<T>(promise: Promise<T>): Promise<T> {
    promise.catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    let grace: ReturnType<typeof setImmediate> | undefined;
    try {
      return await Promise.race([
        promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            // After a stall of this process (a long synchronous task, a GC pause) the timer
            // fires before the reply already waiting on the socket is read: let one turn
            // of I/O read it, so that only a Redis really too slow counts as one.
            grace = setImmediate(() => reject(new Error(`no answer within ${this.#timeout} ms`)));
          }, this.#timeout);
          timer.unref?.();
        }),
      ]);
    } finally {
      clearTimeout(timer);
      clearImmediate(grace);
    }
  }

  /**
   * A command failed on a connection that may still be up (Redis slow, or an error): go
   * local, and try a sync in a while to learn when Redis answers again. A reconnection
   * syncs by itself.
   */
  fail(): void {
    this.#failing = true;
    if (this.#retry !== null || this.#host.closed()) return;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#host.sync();
    }, Math.max(this.#timeout, 500));
    this.#retry.unref?.();
  }
}
