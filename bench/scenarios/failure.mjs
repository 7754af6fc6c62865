// Scenario 2: the failure path, with every circuit held closed by high thresholds.
import { cockatielBreaker, cockatielWithTimeout, opossumBreaker, peerContenders, shutdownAll } from './peers.mjs';

export const title = '2. failure path, circuit held closed';
export const note =
  'fn = async () => { throw ERR } (one Error made up front); ours failureThreshold 1e9; ' +
  'opossum errorThresholdPercentage 100 and rollingPercentilesEnabled false (with percentiles on, ' +
  'every failure sorts every latency of the 10 s window: the cost grows with the run); ' +
  'cockatiel ConsecutiveBreaker(1e9). Peers reject, so every loop (the baseline too) catches.';

export function setup({ ours, CircuitBreaker, cockatiel, before }) {
  const ERR = new Error('boom');
  const fn = async () => {
    throw ERR;
  };
  const name = 'bench-failure';
  ours.configure(name, { failureThreshold: 1e9 });
  before?.configure(name, { failureThreshold: 1e9 });
  const held = { errorThresholdPercentage: 100, rollingPercentilesEnabled: false };
  const opo = opossumBreaker(CircuitBreaker, fn, held);
  const opoNoTimeout = opossumBreaker(CircuitBreaker, fn, { ...held, timeout: false });
  const cki = cockatielBreaker(cockatiel, { threshold: 1e9 });
  const ckiTimeout = cockatielWithTimeout(cockatiel, cockatielBreaker(cockatiel, { threshold: 1e9 }));
  const contenders = [
    { id: 'bare', label: 'bare await fn() (caught)', kind: 'baseline', op: fn },
    { id: 'ours', label: 'ours, default + failureThreshold 1e9', kind: 'ours', op: () => ours.execute(name, fn) },
    ...(before
      ? [{ id: 'before-ours', label: 'before, default + failureThreshold 1e9', kind: 'ours', op: () => before.execute(name, fn) }]
      : []),
    ...peerContenders({ opo, opoNoTimeout, cki, ckiTimeout }, fn, 'held closed'),
  ];
  return {
    contenders,
    check() {
      // The scenario only holds if nothing opened.
      const open = [];
      if (ours.getState(name) !== 'CLOSED') open.push('ours');
      if (!opo.closed || !opoNoTimeout.closed) open.push('opossum');
      if (cki.state !== 0) open.push('cockatiel');
      return open.length ? `circuit opened during the run: ${open.join(', ')}` : null;
    },
    teardown() {
      shutdownAll([opo, opoNoTimeout]);
      ours.reset(name); // drops the failure times the huge threshold kept
      before?.reset(name);
    },
  };
}
