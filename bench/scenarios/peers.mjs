// How each peer is set up, shared by the scenarios.
//
// opossum 10: `new CircuitBreaker(action, options)`, called with `breaker.fire()`. Its
// defaults: 10 s timeout (one setTimeout per call), rolling stats with percentiles, and
// two unref'd interval timers per breaker (bucket rotation and snapshots).
//
// cockatiel 4: `circuitBreaker(handleAll, { halfOpenAfter, breaker })`, called with
// `policy.execute(fn)`. "With timeout" is `wrap(breaker, timeout(10_000, Aggressive))`:
// the timeout inside the breaker, so that a timeout counts as the breaker's failure, as
// it does in executor-circuit-breaker, and the call fails at once when it times out
// (Aggressive), as ours does. One setTimeout and one AbortController per call.

export function opossumBreaker(CircuitBreaker, action, options = {}) {
  return new CircuitBreaker(action, { ...options });
}

export function cockatielBreaker(cockatiel, { threshold = 5 } = {}) {
  const { circuitBreaker, handleAll, ConsecutiveBreaker } = cockatiel;
  return circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(threshold) });
}

export function cockatielWithTimeout(cockatiel, breaker) {
  const { wrap, timeout, TimeoutStrategy } = cockatiel;
  return wrap(breaker, timeout(10_000, TimeoutStrategy.Aggressive));
}

/** Stops opossum's interval timers once a scenario is over. */
export function shutdownAll(breakers) {
  for (const b of breakers) b.shutdown();
}

/**
 * The four peer contenders of scenarios 1 and 2 (opossum with and without its timeout,
 * cockatiel alone and with its timeout), labelled with `what` (e.g. 'held closed').
 */
export function peerContenders({ opo, opoNoTimeout, cki, ckiTimeout }, fn, what = 'default') {
  return [
    { id: 'opossum', label: `opossum, ${what} (10 s timeout)`, kind: 'peer', short: 'opossum', op: () => opo.fire() },
    {
      id: 'opossum-nt',
      label: `opossum, ${what === 'default' ? '' : `${what}, `}timeout: false`,
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
}
