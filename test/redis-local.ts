/**
 * What the Redis suites share: a connection that fails fast and reconnects quickly, the
 * registries that stand for replicas in the test process, and waiting for a sync.
 */
import { Redis } from 'ioredis';
import type { CircuitBreakerRegistry } from '../src/index.js';
import type { CircuitSharingError, SharedCircuitState } from '../src/redis/share.js';

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
