/**
 * executor-circuit-breaker/redis on a Redis Cluster: 3 masters started here from
 * redis-server (`cluster-enabled yes`, joined by `redis-cli --cluster create`, on 127.0.0.1),
 * reached through ioredis's `Cluster`. Skipped with a message where the cluster cannot start.
 * Registries in this process stand for the replicas, each with its own Cluster connection.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CircuitState, createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import { until } from './fleet.js';
import { CONFIG, Replicas, type Local as LocalOf } from './redis-local.js';
import { redisServerAvailable, startRedisCluster, type RedisCluster } from './redis-server.js';

const fail = () => Promise.reject(new Error('HTTP 500'));
let prefixes = 0;
const freshPrefix = () => `cb-cluster-${process.pid}-${++prefixes}:`;

type Local = LocalOf<Cluster>;

describe('on a Redis Cluster of 3 masters', () => {
  let cluster: RedisCluster | null = null;
  let why = 'redis-server is not installed (.ci/run installs it)';
  let nodes: Redis[] = [];
  const replicas = new Replicas<Cluster>();

  beforeAll(async () => {
    if (!redisServerAvailable()) return;
    try {
      cluster = await startRedisCluster();
      nodes = cluster.ports.map((port) => new Redis({ host: '127.0.0.1', port }));
    } catch (error) {
      why = `the cluster could not start: ${(error as Error).message}`;
    }
    if (cluster === null) console.warn(`test/redis-cluster.test.ts: skipped, ${why}`);
  }, 60_000);

  afterEach(async () => {
    await replicas.closeAll();
  });

  afterAll(async () => {
    for (const n of nodes) n.disconnect();
    await cluster?.stop();
  });

  async function local(prefix: string, countFailuresFleetWide = false): Promise<Local> {
    const redis = new Cluster([{ host: '127.0.0.1', port: cluster!.ports[0]! }], {
      enableOfflineQueue: false,
      redisOptions: { maxRetriesPerRequest: 1, connectTimeout: 1_000 },
      clusterRetryStrategy: () => 100,
    });
    const reg = createRegistry({ defaults: CONFIG });
    return replicas.add(redis, reg, { prefix, countFailuresFleetWide, commandTimeout: 1_000 }, 15_000);
  }

  /** The port of the master that serves `key`'s slot. */
  async function owner(key: string): Promise<number> {
    const slot = (await nodes[0]!.cluster('KEYSLOT', key)) as number;
    const ranges = (await nodes[0]!.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
    return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
  }

  const NAMES = Array.from({ length: 8 }, (_, i) => `service-${i}`);

  it('keeps every key of one executor in one hash slot, and spreads executors over the masters', async (ctx) => {
    if (cluster === null) return ctx.skip(why);
    const prefix = freshPrefix();
    const a = await local(prefix, true);
    const masters = new Set<number>();
    for (const name of NAMES) {
      a.reg.openCircuit(name);
      const slots = await Promise.all(['state', 'failures', 'probe'].map((kind) => nodes[0]!.cluster('KEYSLOT', `${prefix}{${name}}:${kind}`)));
      expect(new Set(slots).size).toBe(1);
      masters.add(await owner(`${prefix}{${name}}:state`));
    }
    expect(masters.size).toBeGreaterThanOrEqual(2);
    expect(a.errors).toEqual([]);
  });

  it('openings and closings reach every replica whichever master holds the executor; a late replica reads every master', async (ctx) => {
    if (cluster === null) return ctx.skip(why);
    const prefix = freshPrefix();
    const [a, b] = [await local(prefix), await local(prefix)];
    for (const name of NAMES) a.reg.openCircuit(name);
    await until('B holds every circuit open', () => NAMES.every((n) => b.reg.getState(n) === CircuitState.OPEN), 10_000, 10);
    b.reg.closeCircuit(NAMES[0]!);
    await until('A closed', () => a.reg.getState(NAMES[0]!) === CircuitState.CLOSED, 10_000, 10);
    const c = await local(prefix);
    for (const name of NAMES.slice(1)) {
      expect(c.reg.getState(name)).toBe(CircuitState.OPEN);
      expect(c.reg.getStats(name)!.nextAttemptTime).toBeNull();
    }
    expect([...a.errors, ...b.errors, ...c.errors]).toEqual([]);
  });

  it('counts failures fleet-wide and lets one replica at a time probe', async (ctx) => {
    if (cluster === null) return ctx.skip(why);
    const prefix = freshPrefix();
    const [a, b] = [await local(prefix, true), await local(prefix, true)];
    await a.reg.execute('notion', fail);
    await b.reg.execute('notion', fail);
    await a.reg.execute('notion', fail); // the third in the fleet; each replica is under its own threshold
    await until('both open', () => a.reg.isOpen('notion') && b.reg.isOpen('notion'), 10_000, 5);
    await until('both half-open', () => a.reg.isHalfOpen('notion') && b.reg.isHalfOpen('notion'), 10_000, 5);
    let probes = 0;
    const service = async () => {
      probes++;
      return 'ok';
    };
    await until('A probes', async () => !(await a.reg.execute('notion', service)).rejected, 10_000, 10);
    expect((await b.reg.execute('notion', service)).rejected).toBe(true);
    await a.reg.execute('notion', service);
    await until('both closed', () => a.reg.isClosed('notion') && b.reg.isClosed('notion'), 10_000, 5);
    expect(probes).toBe(2);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });
});
