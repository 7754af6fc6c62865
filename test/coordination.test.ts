/**
 * The two hooks for coordinating breakers beyond one process: tripCircuit (open as if on
 * its own, until a given time) and setProbeGate (an outside say on half-open probes).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as circuitBreaker from '../src/index.js';
import {
  CircuitOpenError,
  CircuitState,
  createRegistry,
  type CircuitBreakerRegistry,
  type ProbeGate,
} from '../src/index.js';
import { boom, deferred, failTimes, hang, ok } from './helpers.js';

const T0 = Date.UTC(2030, 0, 1);
let reg: CircuitBreakerRegistry;

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  reg = createRegistry({
    defaults: { failureThreshold: 2, resetTimeout: 1_000, successThreshold: 2, requestTimeout: 500 },
  });
});

afterEach(() => {
  reg.destroy();
  circuitBreaker.destroy();
  vi.useRealTimers();
});

function recordStateEvents(registry: CircuitBreakerRegistry): string[] {
  const log: string[] = [];
  for (const event of ['circuit:opened', 'circuit:half-open', 'circuit:closed'] as const) {
    registry.on(event, (name) => log.push(`${event} ${name}`));
  }
  return log;
}

/** A gate that grants `allowance` probes and counts what it was asked and given back. */
function countingGate(allowance: number) {
  const gate = {
    allowance,
    asked: 0,
    released: 0,
    tryAcquire() {
      gate.asked++;
      if (gate.allowance === 0) return false;
      gate.allowance--;
      return true;
    },
    release() {
      gate.released++;
    },
  };
  return gate;
}

async function toHalfOpen(name: string): Promise<void> {
  await failTimes(reg, name, 2);
  await vi.advanceTimersByTimeAsync(1_000);
  expect(reg.getState(name)).toBe(CircuitState.HALF_OPEN);
}

describe('tripCircuit', () => {
  it('opens a CLOSED circuit once, with the given next attempt time, and half-opens then', async () => {
    const log = recordStateEvents(reg);
    reg.tripCircuit('svc', new Date(T0 + 5_000));
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    const stats = reg.getStats('svc')!;
    expect(stats.nextAttemptTime?.getTime()).toBe(T0 + 5_000);
    expect(stats.timesOpened).toBe(1);
    expect(log).toEqual(['circuit:opened svc']);

    await vi.advanceTimersByTimeAsync(4_999);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    await vi.advanceTimersByTimeAsync(1);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    expect(log).toEqual(['circuit:opened svc', 'circuit:half-open svc']);
  });

  it('only moves the time of a circuit already OPEN on its timer: no second opening', async () => {
    await failTimes(reg, 'svc', 2); // opens until T0 + 1000
    const log = recordStateEvents(reg);
    reg.tripCircuit('svc', new Date(T0 + 3_000));
    expect(log).toEqual([]);
    expect(reg.getStats('svc')!.timesOpened).toBe(1);
    expect(reg.getStats('svc')!.nextAttemptTime?.getTime()).toBe(T0 + 3_000);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN); // the old time has passed
    const rejected = await reg.execute('svc', ok());
    expect((rejected.error as CircuitOpenError).nextAttemptTime?.getTime()).toBe(T0 + 3_000);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(reg.getState('svc')).toBe(CircuitState.HALF_OPEN);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves a circuit held open by openCircuit held', async () => {
    reg.openCircuit('svc');
    reg.tripCircuit('svc', new Date(T0 + 1_000));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(reg.getStats('svc')!.nextAttemptTime).toBeNull();
  });

  it('reopens a HALF_OPEN circuit; its probes in flight no longer count', async () => {
    await toHalfOpen('svc');
    const probe = deferred();
    const pending = reg.execute('svc', () => probe.promise);
    reg.tripCircuit('svc', new Date(T0 + 10_000));
    expect(reg.getState('svc')).toBe(CircuitState.OPEN);
    expect(reg.getStats('svc')!.timesOpened).toBe(2);
    probe.resolve('late');
    expect((await pending).success).toBe(true);
    expect(reg.getState('svc')).toBe(CircuitState.OPEN); // a late success is not a probe
  });

  it('refuses a bad date or name and changes nothing', () => {
    for (const bad of [undefined, null, T0, '2030-01-01', new Date(Number.NaN)]) {
      expect(() => reg.tripCircuit('svc', bad as unknown as Date)).toThrow(TypeError);
      expect(() => reg.tripCircuit('svc', bad as unknown as Date)).toThrow(/tripCircuit: nextAttemptTime/);
    }
    expect(() => reg.tripCircuit('', new Date())).toThrow(/tripCircuit: executorName/);
    expect(reg.getExecutors()).toEqual([]);
  });

  it('is a module function too, on the default registry', () => {
    circuitBreaker.tripCircuit('mod', new Date(Date.now() + 1_000));
    expect(circuitBreaker.isOpen('mod')).toBe(true);
    expect(reg.getState('mod')).toBeNull();
  });
});

describe('setProbeGate', () => {
  it('is a module function too, on the default registry', async () => {
    circuitBreaker.configure('mod', { failureThreshold: 1, resetTimeout: 1_000 });
    await circuitBreaker.execute('mod', boom);
    await vi.advanceTimersByTimeAsync(1_000);
    const gate = countingGate(0);
    circuitBreaker.setProbeGate('mod', gate);
    const refused = await circuitBreaker.execute('mod', ok());
    expect(refused).toMatchObject({ success: false, rejected: true, circuitState: CircuitState.HALF_OPEN });
    expect(gate.asked).toBe(1);
    circuitBreaker.setProbeGate('mod', null);
    expect((await circuitBreaker.execute('mod', ok())).success).toBe(true);
    expect(gate.asked).toBe(1);
  });

  it('is not asked while the circuit is CLOSED', async () => {
    const gate = countingGate(0);
    reg.setProbeGate('svc', gate);
    expect((await reg.execute('svc', ok())).success).toBe(true);
    expect(gate.asked).toBe(0);
  });

  it('admits only the probes the gate grants; a refusal is rejected like a full half-open', async () => {
    await toHalfOpen('svc');
    const gate = countingGate(1);
    reg.setProbeGate('svc', gate);
    const first = deferred();
    const running = reg.execute('svc', () => first.promise);
    const refused = await reg.execute('svc', ok());
    expect(refused).toMatchObject({ success: false, rejected: true, circuitState: CircuitState.HALF_OPEN });
    expect(refused.error).toBeInstanceOf(CircuitOpenError);
    expect(gate.asked).toBe(2);
    expect(reg.getStats('svc')!.rejectedRequests).toBe(1);
    first.resolve('up');
    await running;
    expect(gate.released).toBe(1);
  });

  it('is asked only after the circuit\'s own slot check', async () => {
    await toHalfOpen('svc');
    const gate = countingGate(10);
    reg.setProbeGate('svc', gate);
    const probes = [reg.execute('svc', hang), reg.execute('svc', hang)]; // successThreshold 2
    await reg.execute('svc', ok()); // own slots full
    expect(gate.asked).toBe(2);
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all(probes);
  });

  it.each([
    ['a success', () => 'ok'],
    ['a rejection', boom],
    ['a synchronous throw', () => {
      throw new Error('sync');
    }],
    ['a timeout', hang],
  ])('hands every granted probe back exactly once: %s', async (_label, fn) => {
    await toHalfOpen('svc');
    const gate = countingGate(1);
    reg.setProbeGate('svc', gate);
    const pending = reg.execute('svc', fn as () => unknown);
    await vi.advanceTimersByTimeAsync(500);
    await pending;
    expect(gate.released).toBe(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(gate.released).toBe(1);
  });

  it('hands a probe back when the caller abandons it, and when its result comes after destroy()', async () => {
    await toHalfOpen('svc');
    const gate = countingGate(2);
    reg.setProbeGate('svc', gate);
    const controller = new AbortController();
    const abandoned = reg.execute('svc', hang, { signal: controller.signal });
    const slow = deferred();
    const late = reg.execute('svc', () => slow.promise);
    controller.abort();
    await abandoned;
    expect(gate.released).toBe(1);
    reg.destroy();
    slow.resolve('after');
    await late;
    expect(gate.released).toBe(2);
  });

  it('treats a gate that throws as a refusal, and ignores a release that throws', async () => {
    await toHalfOpen('svc');
    reg.setProbeGate('svc', {
      tryAcquire() {
        throw new Error('gate down');
      },
      release() {},
    });
    expect((await reg.execute('svc', ok())).rejected).toBe(true);
    reg.setProbeGate('svc', {
      tryAcquire: () => true,
      release() {
        throw new Error('release failed');
      },
    });
    const result = await reg.execute('svc', ok('fine'));
    expect(result).toMatchObject({ success: true, data: 'fine', rejected: false });
  });

  it('is removed with null: the circuit alone decides again', async () => {
    await toHalfOpen('svc');
    reg.setProbeGate('svc', countingGate(0));
    expect((await reg.execute('svc', ok())).rejected).toBe(true);
    reg.setProbeGate('svc', null);
    expect((await reg.execute('svc', ok())).rejected).toBe(false);
  });

  it('refuses a bad gate or name and changes nothing', () => {
    const bad: unknown[] = [undefined, 1, 'gate', {}, { tryAcquire() {} }, { release() {} }];
    for (const gate of bad) {
      expect(() => reg.setProbeGate('svc', gate as ProbeGate)).toThrow(/setProbeGate: gate must be/);
    }
    expect(() => reg.setProbeGate(42 as unknown as string, null)).toThrow(/setProbeGate: executorName/);
    expect(reg.getExecutors()).toEqual([]);
  });
});
