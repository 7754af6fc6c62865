/**
 * What the Redis suites share: a connection that fails fast and reconnects quickly, the
 * registries that stand for replicas in the test process, and waiting for a sync.
 */
import { Redis } from 'ioredis';
import type { CircuitBreakerConfig, CircuitBreakerRegistry } from '../src/index.js';
import { shareCircuitState, type CircuitSharingError, type SharedCircuitState, type ShareCircuitStateOptions } from '../src/redis/share.js';

/** Small timings, so that a suite on real timers opens, half-opens and closes in well under a second. */
export const CONFIG: Partial<CircuitBreakerConfig> = {
  failureThreshold: 3,
  failureWindow: 10_000,
  resetTimeout: 600,
  successThreshold: 2,
  requestTimeout: 1_000,
};

/** A connection to 127.0.0.1:`port` whose commands fail at once while Redis is away. */
export function connect(port: number): Redis {
  return new Redis({
    host: '127.0.0.1',
    port,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    retryStrategy: () => 50,
  });
}

/**
 * The test's own connection, to read and set Redis behind the replicas' backs. After a
 * restart its commands wait for the reconnection instead of failing: a test reads Redis
 * again as soon as the replicas have, and its connection may come back a moment later.
 */
export function connectAdmin(port: number): Redis {
  return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null, connectTimeout: 1_000, retryStrategy: () => 50 });
}

/** A replica in the test process: its own connection, registry and sharing, and the errors it reported. */
export interface Local<R = Redis> {
  redis: R;
  reg: CircuitBreakerRegistry;
  sharing: SharedCircuitState;
  errors: CircuitSharingError[];
}

/** Resolves at the sharing's next `'synced'`; rejects after `ms`. */
export function synced(sharing: SharedCircuitState, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no sync')), ms);
    sharing.once('synced', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * The replicas a test makes in the test process, closed together after it: a sharing of
 * `reg` over `redis`, with the errors it reports, ready once it has synced.
 */
export class Replicas<R extends { disconnect(): void } = Redis> {
  readonly #open: Local<R>[] = [];

  /** Shares `reg` over `redis` with `options`, and waits for the first sync. */
  async add(redis: R, reg: CircuitBreakerRegistry, options: ShareCircuitStateOptions, ms?: number): Promise<Local<R>> {
    const sharing = shareCircuitState(redis as unknown as Redis, { breakers: reg, ...options });
    const l: Local<R> = { redis, reg, sharing, errors: [] };
    sharing.on('error', (e) => l.errors.push(e));
    this.#open.push(l);
    await synced(sharing, ms);
    return l;
  }

  /** Closes every sharing, connection and registry made since the last call. */
  async closeAll(): Promise<void> {
    for (const l of this.#open.splice(0)) {
      await l.sharing.close();
      l.redis.disconnect();
      l.reg.destroy();
    }
  }
}
