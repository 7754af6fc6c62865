/**
 * The scripted outage that the metrics suites (Prometheus, OpenTelemetry) replay, and the
 * numbers it must produce. Runs under fake timers, so every duration is exact.
 *
 * 'notion' (failureThreshold 3, resetTimeout 1 s, requestTimeout 500 ms, cache on):
 *   outage()   2 successes of 40 ms, 2 failures, 1 timeout (500 ms)  -> OPEN (opened 1)
 *              3 calls while OPEN: 2 answered from the cache, 1 with an uncached key
 *   recovery() 1 s later HALF_OPEN; the probe fails                  -> OPEN (opened 2)
 *              1 more rejected call (uncached key)
 *              1 s later HALF_OPEN; 2 probes of 10 ms succeed        -> CLOSED
 *              1 more success of 10 ms
 * 'slack' (defaults): 1 success that returns at once (0 ms), at the start.
 */
import { vi } from 'vitest';
import type { CircuitBreakerRegistry } from '../src/index.js';

export const NOTION_CONFIG = {
  failureThreshold: 3,
  failureWindow: 60_000,
  resetTimeout: 1_000,
  successThreshold: 2,
  requestTimeout: 500,
  cacheFallback: true,
};

/** The counts 'notion' must show at each checkpoint, by outcome. */
export const AFTER_OUTAGE = { success: 2, failure: 2, timeout: 1, rejected: 1, fallback: 2, opened: 1 };
export const AFTER_RECOVERY = { success: 5, failure: 3, timeout: 1, rejected: 2, fallback: 2, opened: 2 };
/** Seconds: two calls of 40 ms and three of 10 ms. */
export const SUCCESS_SECONDS = 0.04 * 2 + 0.01 * 3;

/** A call that succeeds after `ms` of (fake) time. Takes no signal. */
function after(ms: number, value: unknown = { id: 'page-1' }) {
  return () => new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

const boom = () => Promise.reject(new Error('HTTP 500'));
const hang = () => new Promise<never>(() => {});

/** Runs `execute` while moving fake time on by `ms`, and returns its result. */
async function timed(reg: CircuitBreakerRegistry, fn: () => Promise<unknown>, ms: number, cacheKey?: string) {
  const pending = reg.execute('notion', fn, cacheKey === undefined ? undefined : { cacheKey });
  await vi.advanceTimersByTimeAsync(ms);
  return pending;
}

async function expectState(reg: CircuitBreakerRegistry, state: string): Promise<void> {
  const actual = reg.getState('notion');
  if (actual !== state) throw new Error(`scenario: expected notion to be ${state}, it is ${actual}`);
}

/** Up to the first checkpoint: 'notion' OPEN after its outage, with rejections. */
export async function outage(reg: CircuitBreakerRegistry): Promise<void> {
  reg.configure('notion', NOTION_CONFIG);
  await reg.execute('slack', () => 'ok');
  await timed(reg, after(40), 40);
  await timed(reg, after(40), 40);
  await reg.execute('notion', boom);
  await reg.execute('notion', boom);
  const timeout = await timed(reg, hang, 500);
  if (timeout.error?.name !== 'TimeoutError') throw new Error('scenario: expected a timeout');
  await expectState(reg, 'OPEN');
  const cached = [await reg.execute('notion', boom), await reg.execute('notion', boom)];
  if (!cached.every((r) => r.fromCache)) throw new Error('scenario: expected answers from the cache');
  const rejected = await reg.execute('notion', boom, { cacheKey: 'uncached' });
  if (!rejected.rejected || rejected.fromCache) throw new Error('scenario: expected a plain rejection');
}

/** From the first checkpoint to the second: a failed probe, then recovery to CLOSED. */
export async function recovery(reg: CircuitBreakerRegistry): Promise<void> {
  await vi.advanceTimersByTimeAsync(1_000);
  await expectState(reg, 'HALF_OPEN');
  await reg.execute('notion', boom);
  await expectState(reg, 'OPEN');
  await reg.execute('notion', boom, { cacheKey: 'uncached' });
  await vi.advanceTimersByTimeAsync(1_000);
  await expectState(reg, 'HALF_OPEN');
  await timed(reg, after(10), 10);
  await timed(reg, after(10), 10);
  await expectState(reg, 'CLOSED');
  await timed(reg, after(10), 10);
}
