// Scenario 1: the success path on a closed circuit.
import { cockatielBreaker, cockatielWithTimeout, opossumBreaker, shutdownAll } from './peers.mjs';

export const title = '1. success path, closed circuit';
export const note = 'fn = async () => 1; every contender with its default configuration unless named';

export function setup({ ours, CircuitBreaker, cockatiel }) {
  const fn = async () => 1;
  const name = 'bench-success';
  const noTimeout = 'bench-success-no-timeout';
  ours.configure(noTimeout, { requestTimeout: Infinity });
  const opo = opossumBreaker(CircuitBreaker, fn);
  const opoNoTimeout = opossumBreaker(CircuitBreaker, fn, { timeout: false });
  const cki = cockatielBreaker(cockatiel);
  const ckiTimeout = cockatielWithTimeout(cockatiel, cockatielBreaker(cockatiel));
  const contenders = [
    { id: 'bare', label: 'bare await fn()', kind: 'baseline', op: fn },
    { id: 'ours', label: 'ours, default (10 s timeout, cache on)', kind: 'ours', op: () => ours.execute(name, fn) },
    {
      id: 'ours-fresh',
      label: 'ours, default, a new closure per call',
      kind: 'ours',
      op: () => ours.execute(name, async () => 1),
    },
    { id: 'ours-no-timeout', label: 'ours, requestTimeout: Infinity', kind: 'ours', op: () => ours.execute(noTimeout, fn) },
    { id: 'opossum', label: 'opossum, default (10 s timeout)', kind: 'peer', short: 'opossum', op: () => opo.fire() },
    {
      id: 'opossum-nt',
      label: 'opossum, timeout: false',
      kind: 'peer',
      short: 'opossum(timeout:false)',
      op: () => opoNoTimeout.fire(),
    },
    { id: 'cockatiel', label: 'cockatiel, breaker alone', kind: 'peer', short: 'cockatiel', op: () => cki.execute(fn) },
    {
      id: 'cockatiel-t',
      label: 'cockatiel, breaker + 10 s timeout',
      kind: 'peer',
      short: 'cockatiel+timeout',
      op: () => ckiTimeout.execute(fn),
    },
  ];
  return {
    contenders,
    teardown() {
      shutdownAll([opo, opoNoTimeout]);
      ours.reset(name);
      ours.reset(noTimeout);
    },
  };
}
