/**
 * executor-circuit-breaker/redis against a real redis-server (started here on a free port of
 * 127.0.0.1, stopped in afterAll):
 * - in this process, two registries with their own connections stand for two replicas
 *   (src/redis/ itself, for coverage);
 * - then a fleet of real replica processes (test/fixtures/replica.mjs, on the built
 *   package) against one Redis, calling a fake HTTP service that counts its hits, through an
 *   outage, manual controls, and Redis killed and restarted mid-run.
 * Real timers throughout, with short library timings; every wait polls against a deadline.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import { CircuitState, createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import { CircuitSharingError, shareCircuitState, type ShareCircuitStateOptions } from '../src/redis/share.js';
import { startFakeService, startReplica, until, type FakeService, type Replica } from './fleet.js';
import { CONFIG, Replicas, connect, connectAdmin, synced, type Local } from './redis-local.js';
import { redisServerAvailable, startRedisServer, startTcpProxy, type RedisServer } from './redis-server.js';

const available = redisServerAvailable();
if (!available) console.warn('test/redis.test.ts: redis-server is not installed; the Redis suite is skipped (.ci/run installs it)');

// Only what differs from the breakers' own configuration, which the sharing reads itself.
const SETTINGS = { probeLeaseTtl: 2_000 };

const fail = () => Promise.reject(new Error('HTTP 500'));

/**
 * How far apart the next attempt times of one opening may be across replicas, in ms: each
 * replica gets the time left from Redis and opens for that long on its own clock, so they
 * differ by the delivery delays (well under this on a loaded CI machine).
 */
const SAME_TIME = 150;
const spread = (times: number[]) => Math.max(...times) - Math.min(...times);
function expectSameTime(a: Date | null | undefined, b: Date | null | undefined): void {
  expect(a).toBeInstanceOf(Date);
  expect(b).toBeInstanceOf(Date);
  expect(Math.abs(a!.getTime() - b!.getTime())).toBeLessThan(SAME_TIME);
}
let prefixes = 0;
const freshPrefix = () => `cb-test-${process.pid}-${++prefixes}:`;


describe.skipIf(!available)('in one process: two registries as two replicas', () => {
  let server: RedisServer;
  let admin: Redis;
  const replicas = new Replicas();

  beforeAll(async () => {
    server = await startRedisServer();
    admin = connectAdmin(server.port);
    admin.on('error', () => {});
  }, 30_000);

  afterEach(async () => {
    await replicas.closeAll();
    if (!server.running) await server.start();
  });

  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  async function local(prefix: string, options: Omit<ShareCircuitStateOptions, 'breakers' | 'prefix'> = {}): Promise<Local> {
    const redis = connect(server.port);
    const reg = createRegistry({ defaults: CONFIG });
    return replicas.add(redis, reg, { prefix, defaults: SETTINGS, commandTimeout: 500, ...options });
  }

  const states = (...ls: Local[]) => ls.map((l) => l.reg.getState('svc'));

  it('an opening on failures reaches the other replica with the same next attempt time; a recovery closes both', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await local(prefix), await local(prefix)];
    for (let i = 0; i < 3; i++) await a.reg.execute('svc', fail);
    expect(a.reg.getState('svc')).toBe(CircuitState.OPEN);
    await until('B open', () => b.reg.getState('svc') === CircuitState.OPEN, 5_000, 5);
    expectSameTime(b.reg.getStats('svc')!.nextAttemptTime, a.reg.getStats('svc')!.nextAttemptTime);
    const record = JSON.parse((await admin.get(`${prefix}{svc}:state`))!);
    expect(record).toMatchObject({ name: 'svc', state: 'OPEN', origin: a.sharing.processId, manual: false });
    // Redis's clock, the same host's here: within the write's own delay of A's.
    expect(Math.abs(record.until - a.reg.getStats('svc')!.nextAttemptTime!.getTime())).toBeLessThan(SAME_TIME);
    const ttl = await admin.pttl(`${prefix}{svc}:state`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600 + 5_000);

    // B's statistics are its own: the opening counts, the failures do not.
    expect(b.reg.getStats('svc')).toMatchObject({ timesOpened: 1, failedRequests: 0 });

    await until('both half-open', () => states(a, b).every((s) => s === CircuitState.HALF_OPEN), 5_000);
    // A probes (after getting the lease) and closes; B hears it.
    await until('A probes', async () => (await a.reg.execute('svc', () => 'ok')).rejected === false, 5_000, 10);
    await a.reg.execute('svc', () => 'ok');
    expect(a.reg.getState('svc')).toBe(CircuitState.CLOSED);
    await until('B closed', () => b.reg.getState('svc') === CircuitState.CLOSED, 5_000, 5);
    expect(JSON.parse((await admin.get(`${prefix}{svc}:state`))!)).toMatchObject({ state: 'CLOSED', until: null });
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('openCircuit (held), closeCircuit and reset propagate, without echoes', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await local(prefix), await local(prefix)];
    const opened: string[] = [];
    a.reg.on('circuit:opened', (n) => opened.push(`a ${n}`));
    b.reg.on('circuit:opened', (n) => opened.push(`b ${n}`));

    a.reg.openCircuit('svc');
    await until('B held open', () => b.reg.getState('svc') === CircuitState.OPEN, 5_000, 5);
    expect(b.reg.getStats('svc')!.nextAttemptTime).toBeNull();
    expect(await admin.pttl(`${prefix}{svc}:state`)).toBe(-1); // held: no expiry until closed

    b.reg.closeCircuit('svc');
    await until('A closed', () => a.reg.getState('svc') === CircuitState.CLOSED, 5_000, 5);

    b.reg.openCircuit('svc');
    await until('A open', () => a.reg.getState('svc') === CircuitState.OPEN, 5_000, 5);
    a.reg.reset('svc');
    await until('B closed by reset', () => b.reg.getState('svc') === CircuitState.CLOSED, 5_000, 5);
    // A circuit already OPEN on its timer is held by a remote openCircuit, without a second opening.
    for (let i = 0; i < 3; i++) await a.reg.execute('svc', fail);
    await until('B open', () => b.reg.getState('svc') === CircuitState.OPEN, 5_000, 5);
    a.reg.openCircuit('svc');
    await until('B held', () => b.reg.getStats('svc')!.nextAttemptTime === null, 5_000, 5);
    await new Promise((r) => setTimeout(r, 100));
    expect(opened).toEqual(['a svc', 'b svc', 'b svc', 'a svc', 'a svc', 'b svc']);
    expect(a.reg.getStats('svc')!.timesOpened).toBe(1); // reset zeroed the first two; the hold is no new opening
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('counts failures fleet-wide: the fleet opens after failureThreshold in total; aborted calls do not count', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await local(prefix, { countFailuresFleetWide: true }), await local(prefix, { countFailuresFleetWide: true })];
    const controller = new AbortController();
    const abandoned = a.reg.execute('svc', (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), {
      signal: controller.signal,
    });
    controller.abort();
    await abandoned;
    await a.reg.execute('svc', fail);
    await b.reg.execute('svc', fail);
    await until('two failures counted', async () => (await admin.zcard(`${prefix}{svc}:failures`)) === 2, 5_000, 5);
    expect(states(a, b)).toEqual([CircuitState.CLOSED, CircuitState.CLOSED]);
    const pttl = await admin.pttl(`${prefix}{svc}:failures`);
    expect(pttl).toBeGreaterThan(9_000);
    await b.reg.execute('svc', fail);
    await until('both open', () => states(a, b).every((s) => s === CircuitState.OPEN), 5_000, 5);
    expectSameTime(a.reg.getStats('svc')!.nextAttemptTime, b.reg.getStats('svc')!.nextAttemptTime);
    expect(b.reg.getStats('svc')!.timesOpened).toBe(1);
    expect(await admin.exists(`${prefix}{svc}:failures`)).toBe(0);
  });

  it('counts fleet-wide on the thresholds given to configure() alone; executors overrides them', async () => {
    const prefix = freshPrefix();
    const replica = async (options: Omit<ShareCircuitStateOptions, 'breakers' | 'prefix'>) => {
      const redis = connect(server.port);
      const reg = createRegistry();
      reg.configure('svc', { failureThreshold: 4, failureWindow: 10_000, resetTimeout: 700 });
      reg.configure('other', { failureThreshold: 4 });
      return replicas.add(redis, reg, { prefix, countFailuresFleetWide: true, ...options });
    };
    const a = await replica({ executors: { other: { failureThreshold: 2 } } });
    const b = await replica({ executors: { other: { failureThreshold: 2 } } });
    // Two failures each: four in the fleet, the threshold given to configure(); three do not open it.
    await a.reg.execute('svc', fail);
    await b.reg.execute('svc', fail);
    await a.reg.execute('svc', fail);
    await until('three counted', async () => (await admin.zcard(`${prefix}{svc}:failures`)) === 3, 5_000, 5);
    expect(states(a, b)).toEqual([CircuitState.CLOSED, CircuitState.CLOSED]);
    await b.reg.execute('svc', fail);
    await until('both open', () => states(a, b).every((s) => s === CircuitState.OPEN), 5_000, 5);
    const until_ = JSON.parse((await admin.get(`${prefix}{svc}:state`))!).until as number;
    // The fleet's opening lasts the resetTimeout given to configure() (700 ms), not the core's 30 s.
    expect(until_ - Date.now()).toBeLessThanOrEqual(700);
    expect(until_ - Date.now()).toBeGreaterThan(0);
    // Where `executors` names a value, it wins over the breaker's own.
    await a.reg.execute('other', fail);
    await b.reg.execute('other', fail);
    await until('other open', () => a.reg.getState('other') === CircuitState.OPEN && b.reg.getState('other') === CircuitState.OPEN, 5_000, 5);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('failures older than failureWindow (Redis time) drop out of the fleet count', async () => {
    const prefix = freshPrefix();
    const a = await local(prefix, { countFailuresFleetWide: true, executors: { svc: { failureWindow: 600 } } });
    a.reg.configure('svc', { failureThreshold: 10 });
    await a.reg.execute('svc', fail);
    await a.reg.execute('svc', fail);
    await until('counted', async () => (await admin.zcard(`${prefix}{svc}:failures`)) === 2, 5_000, 5);
    await new Promise((r) => setTimeout(r, 650));
    await a.reg.execute('svc', fail);
    await until('one left', async () => (await admin.zcard(`${prefix}{svc}:failures`)) === 1, 5_000, 5);
    expect(a.reg.getState('svc')).toBe(CircuitState.CLOSED);
  });

  it('one replica at a time probes a half-open circuit; a crashed prober blocks only until its lease expires', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await local(prefix), await local(prefix)];
    let probes = 0;
    const service = async () => {
      probes++;
      return 'ok';
    };
    a.reg.tripCircuit('svc', new Date(Date.now() + 200));
    await until('B open', () => b.reg.getState('svc') === CircuitState.OPEN, 5_000, 5);
    expectSameTime(b.reg.getStats('svc')!.nextAttemptTime, a.reg.getStats('svc')!.nextAttemptTime);
    await until('both half-open', () => states(a, b).every((s) => s === CircuitState.HALF_OPEN), 5_000);
    // A ghost process holds the lease, then "crashes": nobody may probe until it expires.
    await admin.set(`${prefix}{svc}:probe`, 'ghost', 'PX', 400);
    const started = Date.now();
    const first = await b.reg.execute('svc', service);
    expect(first.rejected).toBe(true);
    expect(probes).toBe(0);
    await until('B probes once the ghost lease expired', async () => !(await b.reg.execute('svc', service)).rejected, 5_000, 20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await admin.get(`${prefix}{svc}:probe`)).toBe(b.sharing.processId);
    expect(probes).toBe(1);
    // A is refused while B holds the lease; B's second probe closes the circuit.
    expect((await a.reg.execute('svc', service)).rejected).toBe(true);
    expect((await b.reg.execute('svc', service)).rejected).toBe(false);
    expect(probes).toBe(2);
    expect(b.reg.getState('svc')).toBe(CircuitState.CLOSED);
    await until('A closed', () => a.reg.getState('svc') === CircuitState.CLOSED, 5_000, 5);
    expect(await admin.exists(`${prefix}{svc}:probe`)).toBe(0);
  });

  it('a replica that connects later reads the open circuits, and close() stops the sharing', async () => {
    const prefix = freshPrefix();
    const a = await local(prefix);
    a.reg.openCircuit('held');
    for (let i = 0; i < 3; i++) await a.reg.execute('svc', fail);
    a.reg.closeCircuit('other');
    a.reg.openCircuit('other');
    a.reg.closeCircuit('other');
    await until('written', async () => (await admin.exists(`${prefix}{held}:state`, `${prefix}{svc}:state`, `${prefix}{other}:state`)) === 3, 5_000, 5);
    await admin.set(`${prefix}{junk}:state`, 'not json');
    const b = await local(prefix);
    expect(b.reg.getState('held')).toBe(CircuitState.OPEN);
    expect(b.reg.getStats('held')!.nextAttemptTime).toBeNull();
    expectSameTime(b.reg.getStats('svc')!.nextAttemptTime, a.reg.getStats('svc')!.nextAttemptTime);
    expect(b.reg.getState('other')).toBeNull(); // closed everywhere: nothing to create
    expect(b.errors.map((e) => e.operation)).toEqual(['sync']);

    await b.sharing.close();
    await b.sharing.close();
    expect(b.sharing.closed).toBe(true);
    expect(b.sharing.connected).toBe(false);
    expect(b.redis.status).toBe('ready'); // the caller's connection stays open
    a.reg.closeCircuit('held');
    await new Promise((r) => setTimeout(r, 150));
    expect(b.reg.getState('held')).toBe(CircuitState.OPEN);
    // Its gates are gone: a half-open circuit probes on its own.
    b.reg.tripCircuit('svc', new Date(Date.now() + 1));
    await until('half-open', () => b.reg.getState('svc') === CircuitState.HALF_OPEN, 2_000);
    expect((await b.reg.execute('svc', () => 'ok')).rejected).toBe(false);
  });

  it('shares the default registry (the module functions) when no breakers are given', async () => {
    const prefix = freshPrefix();
    const b = await local(prefix);
    const redis = connect(server.port);
    const sharing = shareCircuitState(redis, { prefix });
    try {
      await synced(sharing);
      circuitBreaker.openCircuit('default-svc');
      await until('B open', () => b.reg.getState('default-svc') === CircuitState.OPEN, 5_000, 5);
      b.reg.closeCircuit('default-svc');
      await until('default closed', () => circuitBreaker.getState('default-svc') === CircuitState.CLOSED, 5_000, 5);
    } finally {
      await sharing.close();
      redis.disconnect();
      circuitBreaker.destroy();
    }
  });

  it('a malformed message is reported, not applied', async () => {
    const prefix = freshPrefix();
    const a = await local(prefix);
    await admin.publish(`${prefix}events`, '{"nope":1}');
    await until('reported', () => a.errors.length === 1, 5_000, 5);
    expect(a.errors[0]).toBeInstanceOf(CircuitSharingError);
    expect(a.errors[0]!.operation).toBe('message');
  });

  it('Redis killed: calls never wait for it, breakers protect locally, probes go by the local breaker; after a restart the replicas converge', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await local(prefix, { countFailuresFleetWide: true }), await local(prefix, { countFailuresFleetWide: true })];
    await server.kill();
    await until('both see it', () => !a.sharing.connected && !b.sharing.connected, 5_000, 5);
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const r = await a.reg.execute('svc', fail);
      expect(r.success).toBe(false);
      expect(Date.now() - started).toBeLessThan(250);
    }
    expect(a.reg.getState('svc')).toBe(CircuitState.OPEN); // local protection
    b.reg.openCircuit('manual');
    await until('half-open', () => a.reg.getState('svc') === CircuitState.HALF_OPEN, 5_000);
    // No lease to be had: the local breaker decides, and recovery goes on without Redis.
    expect((await a.reg.execute('svc', () => 'ok')).rejected).toBe(false);
    expect((await a.reg.execute('svc', () => 'ok')).rejected).toBe(false);
    expect(a.reg.getState('svc')).toBe(CircuitState.CLOSED);
    // Long enough to still be OPEN when Redis is back, however slow the restart.
    a.reg.configure('svc', { resetTimeout: 30_000 });
    for (let i = 0; i < 3; i++) await a.reg.execute('svc', fail);
    expect(a.reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(a.errors.length + b.errors.length).toBeGreaterThan(0);

    await server.start();
    await until('converged', () => b.reg.getState('svc') === CircuitState.OPEN && a.reg.getState('manual') === CircuitState.OPEN, 10_000);
    expectSameTime(b.reg.getStats('svc')!.nextAttemptTime, a.reg.getStats('svc')!.nextAttemptTime);
    expect(a.reg.getStats('manual')!.nextAttemptTime).toBeNull();
    expect(a.sharing.connected && b.sharing.connected).toBe(true);
    // Nothing was lost from the local statistics.
    expect(a.reg.getStats('svc')).toMatchObject({ successfulRequests: 2, failedRequests: 6, timesOpened: 2, timesClosed: 1 });
  });

  it('Redis too slow: the command deadline reports it and the next sync writes what it missed', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await local(prefix, { commandTimeout: 100 }), await local(prefix)];
    await admin.client('PAUSE', 600, 'WRITE');
    const started = Date.now();
    a.reg.openCircuit('svc');
    expect(Date.now() - started).toBeLessThan(100);
    await until('timeout reported', () => a.errors.some((e) => e.operation === 'publish'), 5_000, 5);
    expect(a.sharing.connected).toBe(false);
    // Probes go by the local breaker meanwhile; a later sync finds Redis answering again.
    await until('B open after the pause', () => b.reg.getState('svc') === CircuitState.OPEN, 10_000, 20);
    await until('A connected again', () => a.sharing.connected, 10_000, 20);
  });

  it('this process stalled past the deadline while Redis answered: the reply counts, no timeout is reported', async () => {
    const prefix = freshPrefix();
    const [a, b] = [await local(prefix, { commandTimeout: 50 }), await local(prefix)];
    a.reg.openCircuit('svc'); // the write is on the socket now
    // A synchronous task of 300 ms (the thread sleeps): the reply arrives meanwhile and the
    // deadline's timer is due before the reply is read.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    // B hears of it through Redis: by then the deadline's timer has had its turn.
    await until('B open', () => b.reg.getState('svc') === CircuitState.OPEN, 5_000, 5);
    expect(a.errors).toEqual([]);
    expect(a.sharing.connected).toBe(true);
    expect(await admin.get(`${prefix}{svc}:state`)).toContain('"OPEN"');
  });

  it('checks its arguments', () => {
    const redis = connect(server.port);
    redis.on('error', () => {});
    try {
      expect(() => shareCircuitState({} as Redis)).toThrow(TypeError);
      expect(() => shareCircuitState(redis, null as never)).toThrow(/options must be an object/);
      expect(() => shareCircuitState(redis, { nope: 1 } as never)).toThrow(/unknown option "nope"/);
      expect(() => shareCircuitState(redis, { prefix: 1 as never })).toThrow(/prefix must be a string/);
      expect(() => shareCircuitState(redis, { breakers: {} as never })).toThrow(/breakers must be a circuit breaker registry/);
      expect(() => shareCircuitState(redis, { countFailuresFleetWide: 'yes' as never })).toThrow(TypeError);
      expect(() => shareCircuitState(redis, { defaults: { failureThreshold: 1.5 } })).toThrow(RangeError);
      expect(() => shareCircuitState(redis, { defaults: { bogus: 1 } as never })).toThrow(/unknown setting "bogus"/);
      expect(() => shareCircuitState(redis, { defaults: [] as never })).toThrow(/defaults must be an object/);
      expect(() => shareCircuitState(redis, { executors: { x: { probeLeaseTtl: -1 } } })).toThrow(RangeError);
      expect(() => shareCircuitState(redis, { executors: 5 as never })).toThrow(/executors must be an object/);
      expect(() => shareCircuitState(redis, { commandTimeout: 0 })).toThrow(RangeError);
      expect(() => shareCircuitState(redis, { processId: '' })).toThrow(TypeError);
    } finally {
      redis.disconnect();
    }
  });
});

// ---------------------------------------------------------------------------------------
// A fleet of real processes
// ---------------------------------------------------------------------------------------

describe.skipIf(!available)('a fleet of 3 replica processes', () => {
  let server: RedisServer;
  let service: FakeService;
  let fleet: Replica[] = [];

  beforeAll(async () => {
    [server, service] = await Promise.all([startRedisServer(), startFakeService()]);
  }, 30_000);

  afterEach(async () => {
    const replicas = fleet;
    fleet = [];
    const health = await Promise.all(replicas.map((r) => r.send('state', {}, 3_000).catch(() => null)));
    for (const r of replicas) r.kill();
    // No unhandled rejection nor uncaught exception in any replica, whatever Redis did.
    for (const h of health) if (h) expect({ unhandled: h.unhandled, uncaught: h.uncaught }).toEqual({ unhandled: 0, uncaught: 0 });
    if (!server.running) await server.start();
    service.up = true;
  });

  afterAll(async () => {
    for (const r of fleet) r.kill();
    await Promise.all([server?.stop(), service?.close()]);
  });

  /** Three replicas; `each` gives replica i its own port (a proxy's) or clock skew. */
  async function startFleet(
    fleetWide: boolean,
    config = CONFIG,
    each: (i: number) => { port?: number; skew?: number } = () => ({}),
  ): Promise<{ prefix: string; replicas: Replica[] }> {
    const prefix = freshPrefix();
    const replicas = await Promise.all(
      [0, 1, 2].map((i) => startReplica({ port: server.port, prefix, fleet: fleetWide, config, settings: SETTINGS, ...each(i) })),
    );
    fleet.push(...replicas);
    await until('every replica synced', () => replicas.every((r) => r.events.some((e) => e.event === 'synced')), 15_000);
    return { prefix, replicas };
  }

  const allStates = (replicas: Replica[], name = 'svc') =>
    Promise.all(replicas.map(async (r) => (await r.send('state', { name })) as { state: string | null; nextAttemptTime: number | null }));

  it('scripted outage: the fleet opens after failureThreshold failures in total, at most successThreshold probes reach the service, every replica closes', async () => {
    const { replicas } = await startFleet(true);
    service.up = false;
    // One failure per replica: 3 in total, each below the local threshold of 3.
    for (const r of replicas) expect(await r.send('call', { url: service.url })).toMatchObject({ success: false, rejected: false });
    const opened = await until('the fleet open', async () => {
      const s = await allStates(replicas);
      return s.every((x) => x.state === 'OPEN') && s;
    }, 5_000);
    expect(spread(opened.map((s) => s.nextAttemptTime!))).toBeLessThan(SAME_TIME);
    expect(service.hits.length).toBe(3);
    for (const r of replicas) expect(await r.send('call', { url: service.url })).toMatchObject({ rejected: true });
    expect(service.hits.length).toBe(3);

    service.up = true;
    await until('past the reset timeout', () => Date.now() >= opened[0]!.nextAttemptTime!, 5_000);
    await Promise.all(replicas.map((r) => r.send('load', { url: service.url, every: 10 })));
    await until('every replica closed', async () => (await allStates(replicas)).every((s) => s.state === 'CLOSED'), 10_000);
    await Promise.all(replicas.map((r) => r.send('unload')));
    const probes = service.hits.filter((h) => h.up && h.state === 'HALF_OPEN');
    expect(probes.length).toBeGreaterThanOrEqual(1);
    expect(probes.length).toBeLessThanOrEqual(CONFIG.successThreshold!);
    expect(new Set(probes.map((p) => p.pid)).size).toBe(1);
    for (const r of replicas) expect(r.events.filter((e) => e.event === 'error')).toEqual([]);
  });

  it('openCircuit, closeCircuit and reset in one replica reach the two others within a bounded delay', async () => {
    const { replicas } = await startFleet(false);
    const [origin, ...others] = replicas as [Replica, Replica, Replica];
    const delays: number[] = [];
    for (const [op, expected] of [['open', 'OPEN'], ['close', 'CLOSED'], ['open', 'OPEN'], ['reset', 'CLOSED']] as const) {
      const marks = others.map((r) => r.events.length);
      const { at } = await origin.send(op);
      const seen = await until(`${op} propagated`, () => {
        const found = others.map((r, i) => r.events.slice(marks[i]).find((e) => e.event === 'transition' && e.state === expected));
        return found.every(Boolean) && found;
      }, 5_000, 5);
      for (const e of seen) delays.push(e!.at - at);
    }
    delays.sort((x, y) => x - y);
    console.log(`open/close propagation across 3 processes: ${delays.map((d) => d.toFixed(1)).join(', ')} ms`);
    // Generous for a loaded CI machine; docs/distributed.md has the benchmark's figures.
    expect(delays.at(-1)!).toBeLessThan(2_000);
  });

  it('Redis killed mid-run and restarted: no call hangs or throws, local breakers protect, the fleet converges after', async () => {
    // resetTimeout 3 s: r0's circuit is still OPEN when Redis is back, however slow the restart.
    const { replicas } = await startFleet(true, { ...CONFIG, resetTimeout: 3_000 });
    const [r0, r1, r2] = replicas as [Replica, Replica, Replica];
    await server.kill();
    await until('every replica sees Redis gone', async () => (await allStates(replicas)).every((s: any) => !s.connected), 10_000);
    service.up = false;
    // r0 fails on its own: its local breaker opens after its own 3 failures, quickly.
    for (let i = 0; i < 3; i++) {
      const result = await r0.send('call', { url: service.url });
      expect(result).toMatchObject({ success: false, rejected: false });
      expect(result.ms).toBeLessThan(1_000);
    }
    expect((await r0.send('state')).state).toBe('OPEN');
    expect((await r0.send('call', { url: service.url })).rejected).toBe(true);
    expect((await r1.send('state')).state).not.toBe('OPEN'); // nothing could tell it
    await r1.send('open', { name: 'manual' });

    await server.start();
    const converged = await until('the fleet converged', async () => {
      const svc = await allStates(replicas);
      const manual = await allStates(replicas, 'manual');
      return svc.every((s) => s.state === 'OPEN') && manual.every((s) => s.state === 'OPEN') && svc;
    }, 15_000);
    expect(spread(converged.map((s) => s.nextAttemptTime!))).toBeLessThan(SAME_TIME);
    expect((await r2.send('state')).stats.timesOpened).toBeGreaterThanOrEqual(1);
    // Reported through the handle's 'error' event (connection refused while Redis was away).
    expect(replicas.some((r) => r.events.some((e) => e.event === 'error'))).toBe(true);

    // And recovery works for the whole fleet once more.
    service.up = true;
    await Promise.all(replicas.map((r) => r.send('load', { url: service.url, every: 10 })));
    await until('every replica closed', async () => (await allStates(replicas)).every((s) => s.state === 'CLOSED'), 15_000);
    await Promise.all(replicas.map((r) => r.send('unload')));
    await r2.send('close', { name: 'manual' });
    await until('manual closed everywhere', async () => (await allStates(replicas, 'manual')).every((s) => s.state === 'CLOSED'), 5_000);
    // Nothing lost from r0's local statistics.
    expect((await r0.send('state')).stats).toMatchObject({ failedRequests: 3, rejectedRequests: expect.any(Number) });
  });

  it('a replica cut off by a TCP proxy recovers alone; healed, it cannot undo the hold made meanwhile', async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const { replicas } = await startFleet(false, CONFIG, (i) => (i === 0 ? { port: proxy.port } : {}));
      const [cut, r1, r2] = replicas as [Replica, Replica, Replica];
      proxy.cut();
      await until('cut off', async () => !(await cut.send('state')).connected, 10_000);
      service.up = false;
      for (let i = 0; i < 3; i++) await cut.send('call', { url: service.url });
      expect((await cut.send('state')).state).toBe('OPEN');
      service.up = true;
      await until('recovered alone', async () => {
        await cut.send('call', { url: service.url });
        return (await cut.send('state')).state === 'CLOSED';
      }, 10_000, 50);
      await r1.send('open'); // the operator's hold, while the cut-off replica is away
      await until('r2 held', async () => (await r2.send('state')).state === 'OPEN', 5_000);
      proxy.heal();
      await until('the cut-off replica held open', async () => {
        const s = await cut.send('state');
        return s.connected && s.state === 'OPEN' && s.nextAttemptTime === null;
      }, 15_000);
      for (const r of [r1, r2]) expect(await r.send('state')).toMatchObject({ state: 'OPEN', nextAttemptTime: null });
    } finally {
      await proxy.close();
    }
  });

  it('replica clocks 6 s fast and 2 s slow: all three half-open at the same real moment', async () => {
    const skews = [0, 6_000, -2_000];
    const { replicas } = await startFleet(true, { ...CONFIG, resetTimeout: 1_000 }, (i) => ({ skew: skews[i] }));
    service.up = false;
    for (const r of replicas) await r.send('call', { url: service.url }); // 3 in the fleet: it opens
    const halfOpen = await until('every replica half-open', () => {
      const at = replicas.map((r) => r.events.find((e) => e.event === 'transition' && e.state === 'HALF_OPEN')?.at as number | undefined);
      return at.every((t) => t !== undefined) && (at as number[]);
    }, 10_000, 10);
    const opened = replicas.map((r) => r.events.find((e) => e.event === 'transition' && e.state === 'OPEN')!.at as number);
    expect(Math.max(...halfOpen) - Math.min(...halfOpen)).toBeLessThan(SAME_TIME);
    expect(Math.min(...halfOpen) - Math.min(...opened)).toBeGreaterThanOrEqual(900);
    expect(Math.max(...halfOpen) - Math.min(...opened)).toBeLessThan(1_500);
  });
});
