/**
 * executor-circuit-breaker/redis: what the fleet's state survives, against a real
 * redis-server started here (127.0.0.1, a free port): a partition made by a TCP proxy the
 * test cuts and heals, clocks skewed through the registry's `clock` option, probes whose
 * holder goes quiet or outlives its lease, Redis restarted empty, bad arguments, and a
 * process that destroy()s its registry without close(). Registries in this process stand
 * for the replicas, each with its own connections. Real timers, short library timings.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CircuitState, createRegistry, type CircuitBreakerConfig, type CircuitBreakerRegistry } from '../src/index.js';
import { shareCircuitState, type ShareCircuitStateOptions } from '../src/redis/share.js';
import { until } from './fleet.js';
import { CONFIG, Replicas, connect, connectAdmin, synced, type Local } from './redis-local.js';
import { redisServerAvailable, startRedisServer, startTcpProxy, type RedisServer, type TcpProxy } from './redis-server.js';

const available = redisServerAvailable();
if (!available) console.warn('test/redis-consistency.test.ts: redis-server is not installed; the suite is skipped (.ci/run installs it)');


const fail = () => Promise.reject(new Error('HTTP 500'));
const ok = () => 'ok';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let prefixes = 0;
const freshPrefix = () => `cb-cons-${process.pid}-${++prefixes}:`;


describe.skipIf(!available)('the fleet state against partitions, skewed clocks, stalled probes and lost data', () => {
  let server: RedisServer;
  let admin: Redis;
  const replicas = new Replicas();
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    admin = connectAdmin(server.port);
    admin.on('error', () => {});
  }, 30_000);

  afterEach(async () => {
    await replicas.closeAll();
    for (const p of proxies.splice(0)) await p.close();
    if (!server.running) await server.start();
  });

  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  interface LocalOptions extends Omit<ShareCircuitStateOptions, 'breakers' | 'prefix'> {
    port?: number;
    skew?: number;
    config?: Partial<CircuitBreakerConfig>;
  }

  async function local(prefix: string, { port = server.port, skew = 0, config = CONFIG, ...options }: LocalOptions = {}): Promise<Local> {
    const redis = connect(port);
    const reg = createRegistry({ defaults: config, clock: { now: () => Date.now() + skew } });
    return replicas.add(redis, reg, { prefix, commandTimeout: 500, ...options });
  }

  const record = async (prefix: string, name = 'svc') => {
    const text = await admin.get(`${prefix}{${name}}:state`);
    return text === null ? null : JSON.parse(text);
  };

  async function scriptCalls(): Promise<number> {
    const info = await admin.info('commandstats');
    let calls = 0;
    for (const m of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+)/gm)) calls += Number(m[2]);
    return calls;
  }

  // ---- 1. partitions ----------------------------------------------------------------------

  it('a partition: the cut-off replica\'s older CLOSED cannot undo a hold made meanwhile; the hold ends only by hand', async () => {
    const prefix = freshPrefix();
    const proxy = await startTcpProxy(server.port);
    proxies.push(proxy);
    const q = await local(prefix);
    const p = await local(prefix, { port: proxy.port });

    proxy.cut();
    await until('P cut off', () => !p.sharing.connected, 5_000, 5);
    // P opens on its own failures and recovers on its own, unheard.
    for (let i = 0; i < 3; i++) await p.reg.execute('svc', fail);
    expect(p.reg.getState('svc')).toBe(CircuitState.OPEN);
    await until('P half-open', () => p.reg.getState('svc') === CircuitState.HALF_OPEN, 5_000);
    expect((await p.reg.execute('svc', ok)).rejected).toBe(false);
    expect((await p.reg.execute('svc', ok)).rejected).toBe(false);
    expect(p.reg.getState('svc')).toBe(CircuitState.CLOSED);
    // Meanwhile an operator holds the circuit open from Q.
    q.reg.openCircuit('svc');
    await until('hold written', async () => (await record(prefix))?.manual === true, 5_000, 5);
    const hold = await record(prefix);
    expect(hold).toMatchObject({ state: 'OPEN', until: null, origin: q.sharing.processId, manual: true });

    proxy.heal();
    await until('P held open by the fleet', () => p.reg.getState('svc') === CircuitState.OPEN, 10_000, 10);
    expect(p.reg.getStats('svc')!.nextAttemptTime).toBeNull();
    await sleep(100);
    expect(await record(prefix)).toEqual(hold); // P's late CLOSED was refused, not written
    expect(q.reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(q.reg.getStats('svc')!.nextAttemptTime).toBeNull();

    // By hand, from anywhere, the hold ends everywhere.
    p.reg.closeCircuit('svc');
    await until('Q closed by hand from P', () => q.reg.getState('svc') === CircuitState.CLOSED, 5_000, 5);
    expect(await record(prefix)).toMatchObject({ state: 'CLOSED', manual: true, version: hold.version + 1 });
  });

  it('a hold outranks automatic changes made knowing of it: a fleet-count trip or a late opening leaves it held', async () => {
    const prefix = freshPrefix();
    const a = await local(prefix, { countFailuresFleetWide: true });
    const b = await local(prefix, { countFailuresFleetWide: true });
    a.reg.openCircuit('svc');
    await until('B held', () => b.reg.getState('svc') === CircuitState.OPEN, 5_000, 5);
    const hold = await record(prefix);
    // An automatic record written with B's knowledge of the hold is refused in Redis.
    const [status] = (await admin.eval(
      (await import('../src/redis/scripts.js')).WRITE_STATE.lua,
      3,
      `${prefix}{svc}:state`,
      `${prefix}{svc}:failures`,
      `${prefix}{svc}:probe`,
      `${prefix}events`,
      'svc',
      'CLOSED',
      '',
      b.sharing.processId,
      hold.version,
      '0',
      '0',
    )) as [number];
    expect(status).toBe(0);
    expect(await record(prefix)).toEqual(hold);
    expect(b.reg.getStats('svc')!.nextAttemptTime).toBeNull();
  });

  // ---- 2. skewed clocks -------------------------------------------------------------------

  it('clocks skewed by seconds: every replica half-opens at the same real moment, one opening period after it opened', async () => {
    const prefix = freshPrefix();
    const config = { ...CONFIG, resetTimeout: 1_000 };
    const replicas = [
      await local(prefix, { config }),
      await local(prefix, { config, skew: 6_000 }),
      await local(prefix, { config, skew: -2_000 }),
    ];
    for (const origin of [1, 0, 2]) {
      const halfOpen: number[] = [];
      for (const r of replicas) r.reg.on('circuit:half-open', () => halfOpen.push(Date.now()));
      const opened = Date.now();
      for (let i = 0; i < 3; i++) await replicas[origin]!.reg.execute(`svc-${origin}`, fail);
      await until('every replica open', () => replicas.every((r) => r.reg.getState(`svc-${origin}`) !== null && r.reg.isOpen(`svc-${origin}`)), 5_000, 5);
      // Each replica's next attempt time is on its own clock: skewed like it.
      for (const [i, skew] of [0, 6_000, -2_000].entries()) {
        const left = replicas[i]!.reg.getStats(`svc-${origin}`)!.nextAttemptTime!.getTime() - (Date.now() + skew);
        expect(left).toBeGreaterThan(700);
        expect(left).toBeLessThanOrEqual(1_000);
      }
      await until('every replica half-open', () => halfOpen.length === 3, 5_000, 5);
      expect(Math.max(...halfOpen) - Math.min(...halfOpen)).toBeLessThan(150);
      expect(Math.min(...halfOpen) - opened).toBeGreaterThanOrEqual(950);
      expect(Math.max(...halfOpen) - opened).toBeLessThan(1_400);
    }
    for (const r of replicas) expect(r.errors).toEqual([]);
  });

  // ---- 3. probes --------------------------------------------------------------------------

  it('a lease holder that goes quiet gives the lease back at once: the others probe within LEASE_IDLE, not the ttl', async () => {
    const prefix = freshPrefix();
    const settings = { executors: { svc: { probeLeaseTtl: 3_000 } } };
    const [a, b] = [await local(prefix, settings), await local(prefix, settings)];
    a.reg.tripCircuit('svc', new Date(Date.now() + 100));
    await until('both half-open', () => a.reg.isHalfOpen('svc') && b.reg.isHalfOpen('svc'), 5_000, 5);
    // A's one half-open call asks for the lease (and is refused meanwhile); then A goes quiet.
    expect((await a.reg.execute('svc', ok)).rejected).toBe(true);
    await until('A holds the lease', async () => (await admin.get(`${prefix}{svc}:probe`)) === a.sharing.processId, 5_000, 2);
    const granted = Date.now();
    await until('B probes', async () => !(await b.reg.execute('svc', ok)).rejected, 5_000, 10);
    const waited = Date.now() - granted;
    expect(waited).toBeLessThan(1_000); // was the whole 3 s ttl
    await b.reg.execute('svc', ok);
    await until('both closed', () => a.reg.isClosed('svc') && b.reg.isClosed('svc'), 5_000, 5);
  });

  it('a replica asking for the lease of a circuit the fleet closed meanwhile is told so, and closes', async () => {
    const prefix = freshPrefix();
    const a = await local(prefix);
    a.reg.tripCircuit('svc', new Date(Date.now() + 50));
    await until('half-open', () => a.reg.isHalfOpen('svc'), 5_000, 5);
    // The fleet's record says CLOSED, and A missed the message that said so.
    const closed = { name: 'svc', state: 'CLOSED', until: null, origin: 'elsewhere', version: 7, manual: false };
    await admin.set(`${prefix}{svc}:state`, JSON.stringify(closed));
    expect((await a.reg.execute('svc', ok)).rejected).toBe(true); // asks for the lease: told CLOSED
    await until('A closed', () => a.reg.isClosed('svc'), 5_000, 5);
    expect(await admin.exists(`${prefix}{svc}:probe`)).toBe(0);
    expect(await record(prefix)).toEqual(closed); // applied, not written back
  });

  it('the lease lasts the executor\'s own requestTimeout plus 5 s (configure() alone sets it)', async () => {
    const prefix = freshPrefix();
    const a = await local(prefix, { config: { ...CONFIG, requestTimeout: 1_500 } });
    a.reg.configure('forever', { requestTimeout: Infinity });
    for (const [name, ttl] of [['svc', 6_500], ['forever', 35_000]] as const) {
      a.reg.tripCircuit(name, new Date(Date.now() + 50));
      await until('half-open', () => a.reg.isHalfOpen(name), 5_000, 5);
      expect((await a.reg.execute(name, ok)).rejected).toBe(true); // asks for the lease
      await until('A holds the lease', async () => (await admin.get(`${prefix}{${name}}:probe`)) === a.sharing.processId, 5_000, 2);
      const pttl = await admin.pttl(`${prefix}{${name}}:probe`);
      expect(pttl).toBeGreaterThan(ttl - 500);
      expect(pttl).toBeLessThanOrEqual(ttl);
    }
  });

  it('a lease shorter than a probe is renewed while the probe runs: never more than successThreshold probes in the fleet', async () => {
    const prefix = freshPrefix();
    const settings = { executors: { svc: { probeLeaseTtl: 300 } } };
    const replicas = [await local(prefix, settings), await local(prefix, settings), await local(prefix, settings)];
    let running = 0;
    let most = 0;
    let probes = 0;
    const slowProbe = async () => {
      probes++;
      most = Math.max(most, ++running);
      await sleep(800);
      running--;
      return 'ok';
    };
    replicas[0]!.reg.tripCircuit('svc', new Date(Date.now() + 50));
    await until('all half-open', () => replicas.every((r) => r.reg.isHalfOpen('svc')), 5_000, 5);
    const stopAt = Date.now() + 1_500;
    await Promise.all(
      replicas.map(async (r) => {
        const calls: Promise<unknown>[] = [];
        while (Date.now() < stopAt && !r.reg.isClosed('svc')) {
          calls.push(r.reg.execute('svc', slowProbe));
          await sleep(15);
        }
        await Promise.all(calls);
      }),
    );
    expect(probes).toBeGreaterThanOrEqual(2);
    expect(most).toBeLessThanOrEqual(CONFIG.successThreshold!);
  });

  it('processes refused the lease do not ask again before it can have changed', async () => {
    const prefix = freshPrefix();
    const settings = { executors: { svc: { probeLeaseTtl: 2_000 } }, config: { ...CONFIG, requestTimeout: 5_000 } };
    const [a, b, c] = [await local(prefix, settings), await local(prefix, settings), await local(prefix, settings)];
    a.reg.tripCircuit('svc', new Date(Date.now() + 50));
    await until('all half-open', () => [a, b, c].every((r) => r.reg.isHalfOpen('svc')), 5_000, 5);
    const hang = () => new Promise(() => {});
    // A call admitted as a probe hangs; a rejected one resolves at once.
    const probing = async () => (await Promise.race([a.reg.execute('svc', hang), sleep(30).then(() => 'running')])) === 'running';
    await until('A probing', probing, 5_000, 5);
    const before = await scriptCalls();
    const stopAt = Date.now() + 1_000;
    let rejected = 0;
    while (Date.now() < stopAt) {
      const [rb, rc] = await Promise.all([b.reg.execute('svc', ok), c.reg.execute('svc', ok)]);
      rejected += Number(rb.rejected) + Number(rc.rejected);
      await sleep(2);
    }
    const calls = (await scriptCalls()) - before;
    const info = (await admin.info('commandstats')).split('\n').filter((l) => /eval/.test(l)).join(' ');
    expect(rejected).toBeGreaterThan(100);
    // One request each from B and C, and A's renewal: a handful, not one per rejected call.
    expect(calls).toBeLessThan(10);
  });

  // ---- 4. lost data -----------------------------------------------------------------------

  it('Redis restarted empty: the replicas write the open circuits back, and one that starts after sees them', async () => {
    const prefix = freshPrefix();
    const config = { ...CONFIG, resetTimeout: 20_000 };
    const [a, b] = [await local(prefix, { config }), await local(prefix, { config })];
    for (let i = 0; i < 3; i++) await a.reg.execute('svc', fail);
    b.reg.openCircuit('held');
    await until('B open, A held', () => b.reg.isOpen('svc') && a.reg.isOpen('held'), 5_000, 5);
    const opening = a.reg.getStats('svc')!.nextAttemptTime!.getTime();

    await server.kill();
    await until('both see it', () => !a.sharing.connected && !b.sharing.connected, 5_000, 5);
    const resynced = Promise.all([synced(a.sharing, 15_000), synced(b.sharing, 15_000)]);
    await server.start();
    await resynced;
    await until('records back', async () => (await record(prefix)) !== null && (await record(prefix, 'held')) !== null, 5_000, 10);
    expect(await record(prefix)).toMatchObject({ state: 'OPEN', manual: false });
    expect(await record(prefix, 'held')).toMatchObject({ state: 'OPEN', until: null, manual: true });

    const c = await local(prefix, { config });
    expect(c.reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(Math.abs(c.reg.getStats('svc')!.nextAttemptTime!.getTime() - opening)).toBeLessThan(300);
    expect(c.reg.getState('held')).toBe(CircuitState.OPEN);
    expect(c.reg.getStats('held')!.nextAttemptTime).toBeNull();
  });

  // ---- 7. overshoot -----------------------------------------------------------------------

  it('the failure that reaches the fleet threshold opens the fleet in the same script; later failures are not counted', async () => {
    const prefix = freshPrefix();
    const config = { ...CONFIG, failureThreshold: 100, resetTimeout: 20_000 };
    // A deadline with room to spare: a command given up on would be read back by a sync,
    // a second script this test is not about.
    const options = { config, countFailuresFleetWide: true, defaults: { failureThreshold: 3 }, commandTimeout: 2_000 };
    const [a, b] = [await local(prefix, options), await local(prefix, options)];
    await a.reg.execute('svc', fail);
    await b.reg.execute('svc', fail);
    await until('two counted', async () => (await admin.zcard(`${prefix}{svc}:failures`)) === 2, 5_000, 5);
    const before = await scriptCalls();
    await b.reg.execute('svc', fail);
    await until('both open', () => a.reg.isOpen('svc') && b.reg.isOpen('svc'), 5_000, 2);
    expect([...a.errors, ...b.errors]).toEqual([]);
    // One script: the count that opened the fleet, and the record it wrote and published.
    expect((await scriptCalls()) - before).toBe(1);
    expect(await record(prefix)).toMatchObject({ state: 'OPEN', origin: b.sharing.processId, manual: false, version: 1 });
    expect(await admin.exists(`${prefix}{svc}:failures`)).toBe(0);
  });

  // ---- 5. bad input -----------------------------------------------------------------------

  it('bad arguments: a TypeError or RangeError naming the option and its value, and nothing changed', async () => {
    const redis = connect(server.port);
    redis.on('error', () => {});
    const reg = createRegistry();
    const listeners = () => redis.listenerCount('ready') + redis.listenerCount('end');
    const before = listeners();
    try {
      const cases: [ShareCircuitStateOptions, typeof TypeError | typeof RangeError, RegExp][] = [
        [{ defaults: { probeLeaseTtl: 1500.5 } }, RangeError, /defaults\.probeLeaseTtl must be a positive integer of ms.*got 1500\.5/],
        [{ executors: { svc: { probeLeaseTtl: 0 } } }, RangeError, /executors\["svc"\]\.probeLeaseTtl .*got 0/],
        [{ commandTimeout: 1e12 }, RangeError, /commandTimeout must be a positive number of ms, at most 2147483647, got 1000000000000/],
        [{ commandTimeout: '1000' as never }, TypeError, /commandTimeout must be a number of ms, got "1000"/],
        [{ commandTimeout: NaN }, RangeError, /commandTimeout .*got NaN/],
        [{ defaults: { failureWindow: '60000' as never } }, TypeError, /defaults\.failureWindow must be a number of ms, got "60000"/],
        [{ defaults: { failureThreshold: '5' as never } }, TypeError, /failureThreshold must be a number, got "5"/],
        [{ defaults: { failureThreshold: 2.5 } }, RangeError, /failureThreshold must be a positive integer, got 2\.5/],
        [{ defaults: { resetTimeout: Infinity } }, RangeError, /resetTimeout .*got Infinity/],
        [{ breakers: null as never }, TypeError, /breakers must be a circuit breaker registry .*got null/],
        [{ prefix: '' }, RangeError, /prefix must be a non-empty string without "\{" or "\}", got ""/],
        [{ prefix: 'app{1}:' }, RangeError, /prefix .*got "app\{1\}:"/],
        [{ prefix: 7 as never }, TypeError, /prefix must be a string, got 7/],
        [{ processId: 42 as never }, TypeError, /processId must be a non-empty string, got 42/],
        [{ countFailuresFleetWide: 'yes' as never }, TypeError, /countFailuresFleetWide must be a boolean, got "yes"/],
        [{ executors: 'svc' as never }, TypeError, /executors must be an object, got "svc"/],
      ];
      for (const [options, type, message] of cases) {
        const call = () => shareCircuitState(redis, { breakers: reg, ...options });
        expect(call).toThrow(type);
        expect(call).toThrow(message);
      }
      expect(() => shareCircuitState('redis://x' as never)).toThrow(/redis must be an ioredis connection .*got "redis:\/\/x"/);
      // Nothing was attached by any of them: no listener on the connection, the registry free to share.
      expect(listeners()).toBe(before);
      const sharing = shareCircuitState(redis, { breakers: reg, prefix: freshPrefix() });
      // Sharing the same breakers twice would double every write: refused until close().
      expect(() => shareCircuitState(redis, { breakers: reg, prefix: freshPrefix() })).toThrow(TypeError);
      expect(() => shareCircuitState(redis, { breakers: reg })).toThrow(/already shared/);
      await sharing.close();
      const again = shareCircuitState(redis, { breakers: reg, prefix: freshPrefix() });
      await again.close();
    } finally {
      redis.disconnect();
      reg.destroy();
    }
  });

  it('a process that destroy()s its registry and disconnects without close() exits on its own', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/share-exit.mjs', import.meta.url));
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, REDIS_PORT: String(server.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = await new Promise<number | string | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('still running after 8 s');
      }, 8_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    expect({ exited, out }).toEqual({ exited: 0, out: expect.stringContaining('destroyed') });
  });
});
