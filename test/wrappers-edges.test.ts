/**
 * Edges of the shapes for app code: what `wrap` hands its function, which cache entry a
 * wrapped function or a client's read uses, and what `wrapClient` leaves alone.
 *
 * Source of truth: /work/shared/POLICIES.md section 6, docs/guide.md (`wrap`, `wrapClient`)
 * and docs/decisions.md ("Shapes for app code").
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CircuitOpenError, type CircuitBreakerRegistry } from '../src/index.js';
import { NAME, SMALL_DEFAULTS, T0, fakeTimeRegistry, tearDownFakeTimeRegistry } from './helpers.js';

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg);
});

describe('wrap: the arguments fn gets', () => {
  it('a function with rest parameters gets exactly the arguments it was called with', async () => {
    const join = reg.wrap(NAME, (...parts: string[]) => parts);
    expect((await join('a', 'b')).data).toEqual(['a', 'b']);
    expect((await join()).data).toEqual([]);
  });

  it('a call that passes every declared parameter adds no signal after them', async () => {
    const named = reg.wrap(NAME, (first: string, ...rest: string[]) => [first, ...rest]);
    expect((await named('a')).data).toEqual(['a']);
    const counted = reg.wrap(NAME, function (_id: string) {
      // eslint-disable-next-line prefer-rest-params
      return arguments.length;
    });
    expect((await counted('x')).data).toBe(1);
  });
});

describe('wrap: a string cacheKey', () => {
  it('each wrapped function keeps the entry it names, apart from the executor\'s default one', async () => {
    let up = true;
    const read = (value: string) => () => (up ? value : Promise.reject(new Error('down')));
    const getUser = reg.wrap(NAME, read('user'), { cacheKey: 'user' });
    const getTeam = reg.wrap(NAME, read('team'), { cacheKey: 'team' });
    await getUser();
    await getTeam();
    up = false;
    reg.openCircuit(NAME);
    expect(await getUser()).toMatchObject({ success: true, data: 'user', fromCache: true });
    expect(await getTeam()).toMatchObject({ success: true, data: 'team', fromCache: true });
    // A plain call uses the default entry, which neither read filled.
    expect(await reg.execute(NAME, () => 'x')).toMatchObject({ success: false, rejected: true });
    expect(await reg.execute(NAME, () => 'x', { cacheKey: 'user' })).toMatchObject({ data: 'user', fromCache: true });
  });
});

describe('wrapClient: cached reads are keyed by their arguments', () => {
  /** A client whose one read answers with its call number, so a cached answer shows. */
  function counter() {
    const raw = { calls: 0, read: async (...args: unknown[]) => ({ n: ++raw.calls, args }) };
    return raw;
  }

  it('distinct arguments never share an entry, even when their items would run together', async () => {
    const raw = counter();
    const client = reg.wrapClient(NAME, raw, { cacheable: () => true });
    await client.read();
    await client.read([]);
    await client.read([1]);
    await client.read(1, 23);
    await client.read([1, 23]);
    reg.openCircuit(NAME);
    const others: unknown[][] = [
      [-0],
      [10n],
      [[-0]],
      [[undefined]],
      [[null]],
      [[10n]],
      [[new Date(5)]],
      [[2]],
      [[[1]]],
      [12, 3],
      [[12, 3]],
    ];
    for (const args of others) {
      await expect(client.read(...args), `read(${String(args)})`).rejects.toBeInstanceOf(CircuitOpenError);
    }
    expect(raw.calls).toBe(5);
  });

  it('an object with an undefined property finds the entry of the same object without it', async () => {
    const raw = counter();
    const client = reg.wrapClient(NAME, raw, { cacheable: () => true });
    const fresh = await client.read({ id: 'p1', cursor: undefined });
    reg.openCircuit(NAME);
    expect(await client.read({ id: 'p1' })).toEqual(fresh);
    await expect(client.read({ id: 'p2' })).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('cacheable is asked with the method\'s path: its names from the client down, dot-separated', async () => {
    const paths: string[] = [];
    const raw = {
      read: async () => 'r',
      pages: { retrieve: async () => 'p', properties: { retrieve: async () => 'pp' } },
    };
    const client = reg.wrapClient(NAME, raw, {
      cacheable: (path) => {
        paths.push(path);
        return path === 'pages.retrieve';
      },
    });
    await client.read();
    await client.pages.retrieve();
    await client.pages.properties.retrieve();
    expect(paths).toEqual(['read', 'pages.retrieve', 'pages.properties.retrieve']);
  });
});

describe('wrapClient: what passes through untouched', () => {
  it('the event emitter\'s methods run on the real emitter, at once, not through the breaker', () => {
    const raw = new EventEmitter();
    const client = reg.wrapClient(NAME, raw);
    const heard: unknown[] = [];
    const listener = (value: unknown) => heard.push(value);
    expect(client.addListener('a', listener)).toBe(raw);
    expect(client.prependListener('a', listener)).toBe(raw);
    expect(client.once('a', listener)).toBe(raw);
    expect(client.prependOnceListener('a', listener)).toBe(raw);
    expect(client.listenerCount('a')).toBe(4);
    expect(client.listeners('a')).toEqual([listener, listener, listener, listener]);
    expect(client.rawListeners('a')).toHaveLength(4);
    expect(client.eventNames()).toEqual(['a']);
    expect(client.emit('a', 1)).toBe(true);
    expect(heard).toEqual([1, 1, 1, 1]);
    expect(client.off('a', listener)).toBe(raw);
    expect(client.removeListener('a', listener)).toBe(raw);
    expect(raw.listenerCount('a')).toBe(0);
    client.on('b', listener);
    expect(client.removeAllListeners('b')).toBe(raw);
    expect(raw.listenerCount('b')).toBe(0);
    expect(client.setMaxListeners(3)).toBe(raw);
    expect(client.getMaxListeners()).toBe(3);
    expect(reg.getStats(NAME)).toBeNull();
  });

  it('symbol-keyed methods, such as an async iterator, are handed out as they are', async () => {
    const raw = {
      items: ['a', 'b'],
      async *[Symbol.asyncIterator]() {
        yield* this.items;
      },
    };
    const client = reg.wrapClient(NAME, raw);
    expect(client[Symbol.asyncIterator]).toBe(raw[Symbol.asyncIterator]);
    const seen: string[] = [];
    for await (const item of client) seen.push(item);
    expect(seen).toEqual(['a', 'b']);
    expect(reg.getStats(NAME)).toBeNull();
  });

  it('constructor is the client\'s own class', () => {
    class Sdk {
      async ping() {
        return 'pong';
      }
    }
    const client = reg.wrapClient(NAME, new Sdk());
    expect(client.constructor).toBe(Sdk);
  });

  it('a thenable client is not a promise to the breaker: awaiting it runs its own then', async () => {
    // A query builder that runs when awaited, like many database clients.
    const query = {
      rows: ['r1'],
      then(resolve: (rows: string[]) => void) {
        resolve(this.rows);
      },
    };
    const client = reg.wrapClient(NAME, query);
    expect(client.then).toBe(query.then);
    expect(await client).toEqual(['r1']);
    expect(reg.getStats(NAME)).toBeNull();
  });

  it('null, missing and primitive properties read as they are', () => {
    const raw = { none: null, count: 3, name: 'n' } as { none: null; count: number; name: string; missing?: unknown };
    const client = reg.wrapClient(NAME, raw);
    expect(client.none).toBeNull();
    expect(client.missing).toBeUndefined();
    expect(client.count).toBe(3);
    expect(client.name).toBe('n');
  });

  it('an object that is not plain (a Map, a class instance) is handed out as it is', () => {
    class Settings {
      region = 'eu';
      describe() {
        return this.region;
      }
    }
    const raw = { cache: new Map([['k', 1]]), settings: new Settings() };
    const client = reg.wrapClient(NAME, raw);
    expect(client.cache).toBe(raw.cache);
    expect(client.cache.get('k')).toBe(1);
    expect(client.settings).toBe(raw.settings);
    expect(client.settings.describe()).toBe('eu');
    expect(reg.getStats(NAME)).toBeNull();
  });
});

describe('wrapClient: what it wraps', () => {
  it('a namespace without a prototype is a namespace too: its methods run through the breaker', async () => {
    const ns = Object.create(null) as { list: () => Promise<string> };
    ns.list = async () => 'listed';
    const client = reg.wrapClient(NAME, { ns });
    expect(client.ns).not.toBe(ns);
    expect(await client.ns.list()).toBe('listed');
    expect(reg.getStats(NAME)!.successfulRequests).toBe(1);
  });

  it('a method that cannot be reassigned but can be redefined is wrapped, and a sealed one too', async () => {
    const fixed = {} as { ping: () => Promise<string> };
    Object.defineProperty(fixed, 'ping', { value: async () => 'pong', configurable: true, writable: false });
    const sealed = Object.seal({ ping: async () => 'pong' });
    expect(await reg.wrapClient(NAME, fixed).ping()).toBe('pong');
    expect(await reg.wrapClient(NAME, sealed).ping()).toBe('pong');
    expect(reg.getStats(NAME)!.successfulRequests).toBe(2);
  });

  it('a method replaced on the real client is the new one when read again', async () => {
    const raw = { version: async () => 1 };
    const client = reg.wrapClient(NAME, raw);
    expect(await client.version()).toBe(1);
    raw.version = async () => 2;
    expect(await client.version()).toBe(2);
    expect(reg.getStats(NAME)!.successfulRequests).toBe(2);
  });
});
