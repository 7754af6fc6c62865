/**
 * The breaker under fake timers, as an app's own unit tests use it: one advance by the
 * timeout expires a hung call, and no timer is left once every call has settled. Under
 * vitest's default fake timers, under a set that fakes only setTimeout, clearTimeout and
 * Date (setImmediate stays real), and with @sinonjs/fake-timers used directly. Under real
 * timers, calls that settle within their own loop turn still never start a timer.
 *
 * Source of truth: docs/decisions.md ("Timeouts and signals" > Timers) and
 * src/core/timeout.ts.
 */
import { createHook } from 'node:async_hooks';
import * as FakeTimers from '@sinonjs/fake-timers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import { TimeoutError, createRegistry, type CircuitBreakerRegistry } from '../src/index.js';

const TIMEOUT = 5_000;
const hung = (_signal: AbortSignal) => new Promise<never>(() => {});

let reg: CircuitBreakerRegistry | undefined;

afterEach(() => {
  reg?.destroy();
  reg = undefined;
  circuitBreaker.destroy();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** What an app's test does, whatever drives the fake clock. */
interface FakeClock {
  advance(ms: number): void;
  count(): number;
}

/** The same checks for every way of faking time. */
function expectFakeTimeWorks(label: string, install: () => FakeClock, uninstall: () => void): void {
  describe(label, () => {
    afterEach(() => uninstall());

    it('one advance by requestTimeout expires a hung call (module API, no await in between)', async () => {
      const clock = install();
      circuitBreaker.configure('e', { requestTimeout: TIMEOUT });
      const call = circuitBreaker.execute('e', hung);
      clock.advance(TIMEOUT);
      const result = await call;
      expect(result.error).toBeInstanceOf(TimeoutError);
      expect(result.executionTime).toBe(TIMEOUT);
      expect(clock.count()).toBe(0);
    });

    it('not a millisecond early, and with a function that takes no signal too', async () => {
      const clock = install();
      reg = createRegistry({ defaults: { requestTimeout: TIMEOUT } });
      let settled = false;
      const call = reg.execute('e', () => new Promise<never>(() => {})).then((r) => {
        settled = true;
        return r;
      });
      clock.advance(TIMEOUT - 1);
      await Promise.resolve();
      await Promise.resolve();
      expect(settled).toBe(false);
      clock.advance(1);
      expect((await call).error).toBeInstanceOf(TimeoutError);
    });

    it('no timer is left once `await execute(...)` has settled', async () => {
      const clock = install();
      const result = await circuitBreaker.execute('e', async () => 1);
      expect(result.data).toBe(1);
      expect(clock.count()).toBe(0);

      const failed = await circuitBreaker.execute('e', async (signal) => {
        throw new Error(`down ${signal.aborted}`);
      });
      expect(failed.error?.message).toBe('down false');
      expect(clock.count()).toBe(0);
    });

    it('calls started together share one timer; each timeout, and the last settle, leave none', async () => {
      const clock = install();
      reg = createRegistry({ defaults: { requestTimeout: TIMEOUT, failureThreshold: 100 } });
      const first = reg.execute('e', hung);
      const second = reg.execute('e', hung);
      const quick = reg.execute('e', async () => 'quick');
      expect(clock.count()).toBe(1);
      expect((await quick).data).toBe('quick');
      expect(clock.count()).toBe(1); // the hung calls still run
      clock.advance(TIMEOUT);
      expect((await first).error).toBeInstanceOf(TimeoutError);
      expect((await second).error).toBeInstanceOf(TimeoutError);
      expect(clock.count()).toBe(0);
    });

    it('a timeout that opens the circuit leaves only the reopen timer, which half-opens it on time', async () => {
      const clock = install();
      reg = createRegistry({ defaults: { requestTimeout: TIMEOUT, failureThreshold: 1, resetTimeout: 30_000 } });
      const call = reg.execute('e', hung);
      clock.advance(TIMEOUT);
      expect((await call).error).toBeInstanceOf(TimeoutError);
      expect(reg.isOpen('e')).toBe(true);
      expect(clock.count()).toBe(1);
      clock.advance(30_000);
      expect(reg.isHalfOpen('e')).toBe(true);
      expect(clock.count()).toBe(0);
    });
  });
}

expectFakeTimeWorks(
  "vitest's default fake timers",
  () => {
    vi.useFakeTimers();
    return { advance: (ms) => vi.advanceTimersByTime(ms), count: () => vi.getTimerCount() };
  },
  () => vi.useRealTimers(),
);

expectFakeTimeWorks(
  "vitest fake timers with toFake: ['setTimeout', 'clearTimeout', 'Date'] (setImmediate real)",
  () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    return { advance: (ms) => vi.advanceTimersByTime(ms), count: () => vi.getTimerCount() };
  },
  () => vi.useRealTimers(),
);

let sinon: FakeTimers.Clock | undefined;
const uninstallSinon = () => {
  sinon?.uninstall();
  sinon = undefined;
};

expectFakeTimeWorks(
  '@sinonjs/fake-timers used directly, every timer it fakes but nextTick and queueMicrotask',
  () => {
    // install() alone fakes nextTick and queueMicrotask too, which stalls the test runner's
    // own worker process; the breaker uses neither.
    const clock = (sinon = FakeTimers.install({ toNotFake: ['nextTick', 'queueMicrotask'] }));
    return { advance: (ms) => clock.tick(ms), count: () => clock.countTimers() };
  },
  uninstallSinon,
);

expectFakeTimeWorks(
  "@sinonjs/fake-timers used directly, toFake: ['setTimeout', 'clearTimeout', 'Date']",
  () => {
    const clock = (sinon = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
    return { advance: (ms) => clock.tick(ms), count: () => clock.countTimers() };
  },
  uninstallSinon,
);

describe('under real timers the deadline timer stays a loop turn late', () => {
  it('calls that settle within their own loop turn never start a setTimeout', async () => {
    // Not a spy on setTimeout: a replaced setTimeout reads as fake timers (src/core/timeout.ts).
    const delays: number[] = [];
    const hook = createHook({
      init(_id, type, _trigger, resource) {
        if (type === 'Timeout') delays.push((resource as { _idleTimeout: number })._idleTimeout);
      },
    }).enable();
    try {
      reg = createRegistry({ defaults: { requestTimeout: 60_123 } });
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => reg!.execute('e', async (signal) => (signal.aborted ? -1 : i))),
      );
      for (let i = 0; i < 100; i++) await reg.execute('e', async () => i); // one after the other
      expect(results.every((r) => r.success)).toBe(true);
      await new Promise((resolve) => setImmediate(resolve)); // the arming turn passes
      expect(delays.filter((d) => d > 60_000 && d <= 60_123)).toEqual([]);
      void reg.execute('e', () => new Promise(() => {}));
      await new Promise((resolve) => setImmediate(resolve));
      // Only the call still running after its turn costs the one timer (destroy clears it).
      expect(delays.filter((d) => d > 60_000 && d <= 60_123)).toHaveLength(1);
    } finally {
      hook.disable();
    }
  });

  it('a call still running after its turn gets the one timer, cleared when it settles', async () => {
    const timers: { _idleTimeout: number; _destroyed: boolean }[] = [];
    const hook = createHook({
      init(_id, type, _trigger, resource) {
        const timer = resource as { _idleTimeout: number; _destroyed: boolean };
        if (type === 'Timeout' && timer._idleTimeout > 60_000 && timer._idleTimeout <= 60_321) timers.push(timer);
      },
    }).enable();
    try {
      reg = createRegistry({ defaults: { requestTimeout: 60_321 } });
      let finish!: (value: string) => void;
      const call = reg.execute('e', () => new Promise<string>((resolve) => (finish = resolve)));
      expect(timers).toHaveLength(0); // not within the call's own turn
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(timers).toHaveLength(1);
      expect(timers[0]!._destroyed).toBe(false);
      finish('done');
      expect((await call).data).toBe('done');
      expect(timers[0]!._destroyed).toBe(true); // cleared with the last running call
    } finally {
      hook.disable();
    }
  });
});
