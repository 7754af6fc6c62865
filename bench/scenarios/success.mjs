// Scenario 1: the success path on a closed circuit.
import { cockatielBreaker, cockatielWithTimeout, opossumBreaker, peerContenders, shutdownAll } from './peers.mjs';

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
      label: 'ours, default, closure per call (a new async () => 1 each call)',
      kind: 'ours',
      op: () => ours.execute(name, async () => 1),
    },
    { id: 'ours-no-timeout', label: 'ours, requestTimeout: Infinity', kind: 'ours', op: () => ours.execute(noTimeout, fn) },
    ...peerContenders({ opo, opoNoTimeout, cki, ckiTimeout }, fn, 'default'),
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
