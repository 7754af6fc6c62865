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
