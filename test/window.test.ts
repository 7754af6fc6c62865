/**
 * The sliding failure window behind `failureThreshold` and `failureWindow`: when it reports
 * the threshold reached, how a new threshold applies, and the bound on what it keeps.
 *
 * Source of truth: src/core/window.ts (its class comment) and docs/decisions.md
 * ("Counting failures").
 */
import { describe, expect, it } from 'vitest';
import { FailureWindow } from '../src/core/window.js';

/** Records one failure at each time; what record() answered for each. */
function recordAll(window: FailureWindow, times: number[]): boolean[] {
  return times.map((t) => window.record(t));
}

describe('FailureWindow: when the threshold is reached', () => {
  it('on the threshold-th failure inside the span, and on each further one while they stay inside', () => {
    const window = new FailureWindow(2, 1_000);
    expect(recordAll(window, [0, 1, 2, 3, 4])).toEqual([false, true, true, true, true]);
  });

  it('failures at one instant count one by one', () => {
    const window = new FailureWindow(3, 1_000);
    expect(recordAll(window, [5, 5, 5, 5])).toEqual([false, false, true, true]);
  });

  it('a burst at one instant beyond the threshold ages out whole: then the threshold counts afresh', () => {
    const window = new FailureWindow(3, 1_000);
    expect(recordAll(window, [0, 0, 0, 0, 0])).toEqual([false, false, true, true, true]);
    // At 1000 the burst is out of the span: three new failures are needed again.
    expect(recordAll(window, [1_000, 1_001, 1_002])).toEqual([false, false, true]);
  });

  it('failures keep counting while inside the span and stop counting once out of it', () => {
    const window = new FailureWindow(3, 100);
    expect(recordAll(window, [0, 50, 99])).toEqual([false, false, true]);
    // At 100 the failure at 0 is out: 50, 99 and 100 still make three.
    expect(window.record(100)).toBe(true);
    // At 160 only 99, 100 and 160 are in, at 200 only 160 and 200.
    expect(window.record(160)).toBe(true);
    expect(window.record(200)).toBe(false);
  });

  it('a failure recorded after the clock stepped back ages out like any other', () => {
    const window = new FailureWindow(2, 100);
    expect(window.record(1_000)).toBe(false);
    // Reconfigured at 2000: the failure at 1000 is out of the span.
    window.resize(2, 100, 2_000);
    // The wall clock steps back to 1000, the instant of that dropped failure.
    expect(window.record(1_000)).toBe(false);
    // By 1200 the new failure at 1000 is out of the span too: one failure, not two.
    expect(window.record(1_200)).toBe(false);
    expect(window.record(1_250)).toBe(true);
  });
});

describe('FailureWindow: a new threshold', () => {
  it('lowered: the most recent failures that fit are kept, including part of a same-instant group', () => {
    const window = new FailureWindow(5, 1_000);
    expect(recordAll(window, [0, 0, 10, 10])).toEqual([false, false, false, false]);
    // Down to 3: one of the two failures at 0 and both at 10 are kept.
    window.resize(3, 1_000, 10);
    // At 1000 the failure at 0 is out: with the two at 10, a new one makes three.
    expect(window.record(1_000)).toBe(true);
    // At 1010 the two at 10 are out: 1000 and 1010 make two.
    expect(window.record(1_010)).toBe(false);
    expect(window.record(1_011)).toBe(true);
  });

  it('lowered below the size of the oldest same-instant groups: only the most recent failures count', () => {
    const window = new FailureWindow(6, 1_000);
    expect(recordAll(window, [0, 0, 0, 10, 10])).toEqual([false, false, false, false, false]);
    // Down to 2: the three at 0 are dropped, the two at 10 are kept.
    window.resize(2, 1_000, 10);
    expect(window.entries).toBe(1);
    // At 1005 the failures at 0 would be out of the span anyway; the two at 10 are in.
    expect(window.record(1_005)).toBe(true);
    // At 1010 those at 10 are out: 1005 and 1010 make two.
    expect(window.record(1_010)).toBe(true);
    // At 2010 only the new one is in.
    expect(window.record(2_010)).toBe(false);
  });

  it('lowered at an instant where everything has aged out: nothing is kept', () => {
    const window = new FailureWindow(4, 100);
    recordAll(window, [0, 0, 1, 2]);
    window.resize(2, 100, 500);
    expect(window.entries).toBe(0);
    expect(window.record(500)).toBe(false);
    expect(window.record(501)).toBe(true);
  });
});

// The window's memory must not grow with the traffic: it keeps at most `threshold` entries,
// at most one per instant, and the arrays behind them are compacted as entries are dropped.
describe('FailureWindow: the bound on what it keeps (bounds memory)', () => {
  it('many failures at one instant keep one entry', () => {
    const window = new FailureWindow(1_000, 60_000);
    for (let i = 0; i < 100; i++) {
      window.record(5);
      expect(window.entries).toBe(1);
    }
  });

  it('a long run of failures inside the span keeps at most threshold entries, in arrays that stay bounded', () => {
    const threshold = 3;
    const window = new FailureWindow(threshold, 1_000_000);
    for (let t = 0; t < 2_000; t++) {
      expect(window.record(t)).toBe(t >= threshold - 1);
      expect(window.entries).toBeLessThanOrEqual(threshold);
      expect(window.capacity).toBeLessThanOrEqual(2 * threshold + 64);
    }
    expect(window.entries).toBe(threshold);
  });

  it('a long run of failures far apart in time keeps only those in the span, in arrays that stay bounded', () => {
    const window = new FailureWindow(1_000, 10);
    for (let i = 0; i < 2_000; i++) {
      // One failure every 3 ms: at most 4 of them are inside a 10 ms span.
      expect(window.record(i * 3)).toBe(false);
      expect(window.entries).toBeLessThanOrEqual(4);
      expect(window.capacity).toBeLessThanOrEqual(2 * 4 + 64);
    }
  });

  it('after many failures age out at once, the arrays still stay bounded over a long run', () => {
    const window = new FailureWindow(1_000, 100);
    // 50 failures at distinct instants, then all of them out of the span at one record.
    for (let t = 0; t < 50; t++) window.record(t);
    expect(window.entries).toBe(50);
    window.record(1_000);
    expect(window.entries).toBe(1);
    for (let i = 1; i < 2_000; i++) {
      // One failure every 50 ms: at most 2 of them are inside a 100 ms span.
      window.record(1_000 + i * 50);
      expect(window.entries).toBeLessThanOrEqual(2);
      expect(window.capacity).toBeLessThanOrEqual(50 + 2 * 2 + 64);
    }
  });

  it('failures in bursts at a few instants keep one entry per instant, at most threshold', () => {
    const threshold = 5;
    const window = new FailureWindow(threshold, 1_000_000);
    for (let t = 0; t < 500; t++) {
      for (let i = 0; i < 4; i++) window.record(t);
      expect(window.entries).toBeLessThanOrEqual(threshold);
      expect(window.capacity).toBeLessThanOrEqual(2 * threshold + 64);
    }
  });

  it('clear() forgets every failure and every entry', () => {
    const window = new FailureWindow(3, 1_000);
    recordAll(window, [0, 1, 2, 3]);
    window.clear();
    expect(window.entries).toBe(0);
    expect(window.capacity).toBe(0);
    expect(recordAll(window, [4, 5, 6])).toEqual([false, false, true]);
  });
});
