/**
 * Shapes for app code: executeOrThrow, wrap, wrapClient, and `on` returning an unsubscribe
 * function; on registries and on the module.
 *
 * Source of truth: /work/shared/POLICIES.md section 6 and docs/decisions.md ("Shapes for
 * app code"). wrapClient around the real Notion and Slack clients runs in
 * examples/wrap-client.mjs (test/examples.test.ts).
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import { CircuitOpenError, CircuitState, TimeoutError, type CircuitBreakerRegistry } from '../src/index.js';
import { NAME, SMALL_DEFAULTS, T0, boom, fakeTimeRegistry, hang, tearDownFakeTimeRegistry, track } from './helpers.js';

let reg: CircuitBreakerRegistry;

beforeEach(() => {
  reg = fakeTimeRegistry({ now: T0, registry: { defaults: SMALL_DEFAULTS } });
});

afterEach(() => {
  tearDownFakeTimeRegistry(reg, { destroyDefault: true });
});

describe('executeOrThrow', () => {
  it('resolves to the data: fresh, cached, or from a fallback', async () => {
    expect(await reg.executeOrThrow(NAME, () => 'fresh')).toBe('fresh');
    reg.openCircuit(NAME);
    expect(await reg.executeOrThrow(NAME, () => 'not run')).toBe('fresh');
    expect(await reg.executeOrThrow('other', boom, { fallback: () => 'spare' })).toBe('spare');
  });

  it('rejects with the result\'s error: fn\'s own, a TimeoutError, a CircuitOpenError', async () => {
    const error = new Error('nope');
    await expect(reg.executeOrThrow(NAME, () => Promise.reject(error))).rejects.toBe(error);
    const timing = reg.executeOrThrow(NAME, hang);
    const caught = timing.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(SMALL_DEFAULTS.requestTimeout!);
    expect(await caught).toBeInstanceOf(TimeoutError);
    reg.configure('cold', { cacheFallback: false });
    reg.openCircuit('cold');
    await expect(reg.executeOrThrow('cold', () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('rejects with a TypeError for a programmer error, as execute does', async () => {
    await expect(reg.executeOrThrow('', () => 1)).rejects.toThrow(TypeError);
    await expect(reg.executeOrThrow(NAME, 'x' as never)).rejects.toThrow(/fn must be a function/);
  });

  it('is on the module too', async () => {
    expect(await circuitBreaker.executeOrThrow('module-x', async () => 42)).toBe(42);
  });
});

describe('wrap', () => {
  it('returns a function with fn\'s parameters that resolves to an ExecutionResult', async () => {
    const add = reg.wrap(NAME, (a: number, b: number) => a + b);
    const result = await add(2, 3);
    expect(result).toMatchObject({ success: true, data: 5, attempts: 1 });
    expect(reg.getStats(NAME)!.successfulRequests).toBe(1);
    const fails = reg.wrap(NAME, async (_id: string) => {
      throw new Error('bad');
    });
    expect((await fails('x')).error!.message).toBe('bad');
  });

  it('keeps `this`: a wrapped method sees the object it was called on', async () => {
    const api = {
      base: 'https://api.example',
      get: reg.wrap(NAME, function (this: { base: string }, path: string) {
        return `${this.base}/${path}`;
      }),
    };
    expect((await api.get('pages')).data).toBe('https://api.example/pages');
  });

  it('hands fn the call\'s signal as one more parameter than its callers pass; it aborts on timeout', async () => {
    let got: AbortSignal | undefined;
    const get = reg.wrap(NAME, (id: string, signal?: AbortSignal) => {
      got = signal;
      return new Promise<string>(() => {});
    });
    const pending = track(get('p1'));
    await vi.advanceTimersByTimeAsync(0);
    expect(got).toBeInstanceOf(AbortSignal);
    expect(got!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(SMALL_DEFAULTS.requestTimeout!);
    expect(pending.result!.error).toBeInstanceOf(TimeoutError);
    expect(got!.aborted).toBe(true);
  });

  it('pads arguments left out before the signal with undefined', async () => {
    const seen: unknown[][] = [];
    const list = reg.wrap(NAME, (id: string, options?: { limit: number }, signal?: AbortSignal) => {
      seen.push([id, options, signal instanceof AbortSignal]);
      return 'ok';
    });
    await list('a');
    await list('b', { limit: 2 });
    await list('c', { limit: 3 }, undefined);
    expect(seen).toEqual([
      ['a', undefined, true],
      ['b', { limit: 2 }, true],
      ['c', { limit: 3 }, false],
    ]);
  });

  it('options.cacheKey may be a function of the arguments: each read answers only for itself', async () => {
    const pages: Record<string, string> = { p1: 'page one', p2: 'page two' };
    let up = true;
    const getPage = reg.wrap(NAME, async (id: string) => (up ? pages[id] : Promise.reject(new Error('down'))), {
      cacheKey: (id) => `page:${id}`,
    });
    await getPage('p1');
    await getPage('p2');
    up = false;
    reg.openCircuit(NAME);
    expect(await getPage('p1')).toMatchObject({ data: 'page one', fromCache: true });
    expect(await getPage('p2')).toMatchObject({ data: 'page two', fromCache: true });
    expect(await getPage('p3')).toMatchObject({ success: false, rejected: true });
  });

  it('carries retry, fallback and signal options to every call', async () => {
    const fn = vi.fn(boom);
    const wrapped = reg.wrap(NAME, fn, { retry: { attempts: 2, minDelay: 0 }, fallback: () => 'spare' });
    const pending = track(wrapped());
    await vi.advanceTimersByTimeAsync(10);
    expect(pending.result).toMatchObject({ success: true, data: 'spare', attempts: 2, fromFallback: true });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('checks its options once, when wrapping', async () => {
    expect(() => reg.wrap(NAME, () => 1, { cacheKey: 3 as never })).toThrow(/wrap: options.cacheKey must be a string or a function, got 3/);
    expect(() => reg.wrap(NAME, () => 1, { retries: 3 } as never)).toThrow(/wrap: unknown option "retries"/);
    expect(() => reg.wrap(NAME, 'fn' as never)).toThrow(/wrap: fn must be a function/);
    expect(() => reg.wrap('', () => 1)).toThrow(TypeError);
    const bad = reg.wrap(NAME, (id: string) => id, { cacheKey: () => 7 as never });
    await expect(bad('x')).rejects.toThrow(/cacheKey\(...\) must return a string, got 7/);
    const throwing = reg.wrap(NAME, (id: string) => id, {
      cacheKey: () => {
        throw new Error('key bug');
      },
    });
    await expect(throwing('x')).rejects.toThrow('key bug');
    expect(reg.getStats(NAME)).toBeNull();
  });

  it('is on the module too', async () => {
    const twice = circuitBreaker.wrap('module-w', (n: number) => n * 2);
    expect((await twice(21)).data).toBe(42);
  });
});

/** An SDK-shaped client: an event emitter with namespaces, prototype methods and a paginator. */
class FakeClient extends EventEmitter {
  token = 'xoxb-secret';
  requests: { method: string; args: unknown }[] = [];
  down = false;
  readonly pages = {
    retrieve: (args: { page_id: string }) => this.request('pages.retrieve', args),
    create: (args: { title: string }) => this.request('pages.create', args),
    properties: { retrieve: (args: { page_id: string; property_id: string }) => this.request('pages.properties.retrieve', args) },
  };
  readonly chat = {
    client: this,
    postMessage(this: { client: FakeClient }, args: { channel: string; text: string }) {
      return this.client.request('chat.postMessage', args);
    },
  };

  async request(method: string, args: unknown): Promise<unknown> {
    this.requests.push({ method, args });
    if (this.down) throw new Error(`${method} failed`);
    return { method, args, n: this.requests.length };
  }

  async *paginate(method: string): AsyncGenerator<unknown> {
    yield await this.request(method, { page: 1 });
    yield await this.request(method, { page: 2 });
  }
}

describe('wrapClient', () => {
  it('runs methods at any depth through the breaker, with `this` intact', async () => {
    const raw = new FakeClient();
    const client = reg.wrapClient(NAME, raw);
    expect(await client.pages.create({ title: 'T' })).toMatchObject({ method: 'pages.create' });
    expect(await client.pages.properties.retrieve({ page_id: 'p', property_id: 'x' })).toMatchObject({ method: 'pages.properties.retrieve' });
    expect(await client.chat.postMessage({ channel: 'C1', text: 'hi' })).toMatchObject({ method: 'chat.postMessage' });
    expect(await client.request('raw.call', {})).toMatchObject({ method: 'raw.call' });
    // Four calls through the breaker; the SDK's own inner call (this.request) was not wrapped again.
    expect(reg.getStats(NAME)!.successfulRequests).toBe(4);
    expect(raw.requests).toHaveLength(4);
  });

  it('rejects as executeOrThrow does: the SDK\'s error, then CircuitOpenError once open', async () => {
    const raw = new FakeClient();
    reg.configure(NAME, { failureThreshold: 2 });
    const client = reg.wrapClient(NAME, raw);
    raw.down = true;
    await expect(client.pages.create({ title: 'a' })).rejects.toThrow('pages.create failed');
    await expect(client.pages.create({ title: 'b' })).rejects.toThrow('pages.create failed');
    await expect(client.pages.create({ title: 'c' })).rejects.toBeInstanceOf(CircuitOpenError);
    expect(raw.requests).toHaveLength(2);
  });

  it('lets other properties pass through: values, event emitter methods, paginating iterators', async () => {
    const raw = new FakeClient();
    const client = reg.wrapClient(NAME, raw);
    expect(client.token).toBe('xoxb-secret');
    const heard = vi.fn();
    expect(client.on('rate_limited', heard)).toBe(raw); // run on the real object
    raw.emit('rate_limited', 5);
    expect(heard).toHaveBeenCalledWith(5);
    const pages: unknown[] = [];
    for await (const page of client.paginate('conversations.list')) pages.push(page);
    expect(pages).toHaveLength(2);
    expect(client.hasOwnProperty('token')).toBe(true);
    expect(String(client)).toBe('[object Object]');
    expect(reg.getStats(NAME)).toBeNull(); // nothing went through the breaker
    expect(client.pages).toBe(client.pages);
    expect(client.pages.create).toBe(client.pages.create);
  });

  it('never answers a write from the cache, nor stores one', async () => {
    const raw = new FakeClient();
    const client = reg.wrapClient(NAME, raw, { cacheable: (path) => path.endsWith('.retrieve') });
    await client.pages.create({ title: 'first' });
    // The executor's default entry is untouched by the write: a plain execute finds nothing.
    reg.openCircuit(NAME);
    await expect(client.pages.create({ title: 'second' })).rejects.toBeInstanceOf(CircuitOpenError);
    reg.configure(NAME, {});
    expect(await reg.execute(NAME, () => 'x')).toMatchObject({ success: false, rejected: true });
  });

  it('keys a cached read by its path and its arguments, whatever their key order', async () => {
    const raw = new FakeClient();
    const client = reg.wrapClient(NAME, raw, { cacheable: (path) => path.endsWith('.retrieve') });
    const p1 = await client.pages.retrieve({ page_id: 'p1' });
    const p2 = await client.pages.retrieve({ page_id: 'p2' });
    const prop = await client.pages.properties.retrieve({ page_id: 'p1', property_id: 'title' });
    reg.openCircuit(NAME);
    expect(await client.pages.retrieve({ page_id: 'p1' })).toEqual(p1);
    expect(await client.pages.retrieve({ page_id: 'p2' })).toEqual(p2);
    expect(await client.pages.properties.retrieve({ property_id: 'title', page_id: 'p1' })).toEqual(prop);
    await expect(client.pages.retrieve({ page_id: 'p3' })).rejects.toBeInstanceOf(CircuitOpenError);
    expect(raw.requests).toHaveLength(3);
  });

  it('keys tell argument types and values apart: 1 and "1", 0 and -0, dates, bigints, arrays, nesting', async () => {
    const raw = { calls: 0, read: async (...args: unknown[]) => ({ n: ++raw.calls, args }) };
    const client = reg.wrapClient(NAME, raw, { cacheable: () => true });
    const argLists: unknown[][] = [
      [1],
      ['1'],
      [0],
      [-0],
      [true],
      [undefined],
      [null],
      [10n],
      [new Date(5)],
      [[1, [2]]],
      [{ a: { b: 1 }, c: undefined }],
      [Object.create(null) as object],
    ];
    const fresh = [];
    for (const args of argLists) fresh.push(await client.read(...args));
    reg.openCircuit(NAME);
    for (let i = 0; i < argLists.length; i++) expect(await client.read(...argLists[i]!)).toEqual(fresh[i]);
    // Equal arguments find their entry: a new Date of the same time, keys in another order.
    expect(await client.read(new Date(5))).toEqual(fresh[8]);
    expect(await client.read({ c: undefined, a: { b: 1 } })).toEqual(fresh[10]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(client.read(cyclic)).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(client.read(new Map())).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(client.read(Symbol('s'))).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('a property that cannot be replaced (frozen) is handed out as it is', async () => {
    const frozen = Object.freeze({ ping: async () => 'pong', nested: Object.freeze({ x: 1 }) });
    const client = reg.wrapClient(NAME, frozen);
    expect(client.ping).toBe(frozen.ping);
    expect(client.nested).toBe(frozen.nested);
    expect(await client.ping()).toBe('pong');
    expect(reg.getStats(NAME)).toBeNull();
  });

  it('a cacheable that throws, or arguments that cannot be keyed, mean no cache', async () => {
    const raw = new FakeClient();
    const throwing = reg.wrapClient(NAME, raw, {
      cacheable: () => {
        throw new Error('bug');
      },
    });
    await throwing.pages.retrieve({ page_id: 'p1' });
    const keyed = reg.wrapClient('b', raw, { cacheable: () => true });
    await keyed.request('with.callback', { onDone: () => {} });
    reg.openCircuit(NAME);
    reg.openCircuit('b');
    await expect(throwing.pages.retrieve({ page_id: 'p1' })).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(keyed.request('with.callback', { onDone: () => {} })).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('carries retry and fallback to every method', async () => {
    const raw = new FakeClient();
    raw.down = true;
    const client = reg.wrapClient(NAME, raw, { retry: { attempts: 2, minDelay: 0 }, fallback: () => ({ offline: true }) });
    const pending = client.chat.postMessage({ channel: 'C', text: 'x' });
    await vi.advanceTimersByTimeAsync(10);
    expect(await pending).toEqual({ offline: true });
    expect(raw.requests).toHaveLength(2);
  });

  it('checks its arguments', () => {
    expect(() => reg.wrapClient(NAME, null as never)).toThrow(/wrapClient: client must be an object, got null/);
    expect(() => reg.wrapClient(NAME, {}, { cacheable: 'yes' as never })).toThrow(/options.cacheable must be a function/);
    expect(() => reg.wrapClient(NAME, {}, { cacheKey: 'k' } as never)).toThrow(/wrapClient: unknown option "cacheKey"/);
    expect(() => reg.wrapClient('', {})).toThrow(TypeError);
  });

  it('is on the module too', async () => {
    const client = circuitBreaker.wrapClient('module-c', new FakeClient());
    expect(await client.pages.create({ title: 't' })).toMatchObject({ method: 'pages.create' });
    expect(circuitBreaker.getStats('module-c')!.successfulRequests).toBe(1);
  });
});

describe('on returns an unsubscribe function', () => {
  it('removes exactly that registration, once', async () => {
    const heard: string[] = [];
    const a = (): void => void heard.push('a');
    const offFirst = reg.on('request:success', a);
    reg.on('request:success', a);
    await reg.execute(NAME, () => 1);
    expect(heard).toEqual(['a', 'a']);
    offFirst();
    offFirst();
    await reg.execute(NAME, () => 1);
    expect(heard).toEqual(['a', 'a', 'a']);
    reg.off('request:success', a);
    await reg.execute(NAME, () => 1);
    expect(heard).toHaveLength(3);
  });

  it('on the module too; request:retry can be listened to and removed', async () => {
    const listener = vi.fn();
    const off = circuitBreaker.on('request:retry', listener);
    const pending = track(circuitBreaker.execute('module-r', boom, { retry: { attempts: 2, minDelay: 0 } }));
    // The retry's delay (0 ms) is a fake timer.
    await vi.advanceTimersByTimeAsync(1);
    expect(pending.result).toMatchObject({ success: false, attempts: 2 });
    expect(listener).toHaveBeenCalledWith('module-r', 2, expect.any(Error), 0);
    off();
    expect(circuitBreaker.getState('module-r')).toBe(CircuitState.CLOSED);
  });
});
