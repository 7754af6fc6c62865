/**
 * How long the circuit stays OPEN: `resetTimeout`, grown by `resetTimeoutMultiplier` on
 * each reopening from HALF_OPEN and capped, shortened by `resetTimeoutJitter`; or, when the
 * service said how long to pause (`retryAfter`), that long, capped the same way.
 */
import type { CircuitBreakerConfig } from '../core/types.js';

/** The longest any open period may last: `max(maxResetTimeout, resetTimeout)`, in whole ms. */
export function periodCap(config: Readonly<CircuitBreakerConfig>): number {
  return Math.round(Math.max(config.maxResetTimeout, config.resetTimeout));
}

/**
 * The open period after `reopenings` reopenings from HALF_OPEN in a row (0 when opening
 * from CLOSED), in whole ms. `random` is only called when there is jitter.
 */
export function openPeriod(
  config: Readonly<CircuitBreakerConfig>,
  reopenings: number,
  random: () => number = Math.random,
): number {
  // Whole ms even for a fractional resetTimeout: nextAttemptTime, a Date, has no fractions.
  // The cap is never below resetTimeout, so the first period (multiplier ** 0) is kept whole.
  const base = Math.round(config.resetTimeout);
  const period = Math.min(Math.round(base * config.resetTimeoutMultiplier ** reopenings), periodCap(config));
  const jitter = config.resetTimeoutJitter;
  return jitter === 0 ? period : period - Math.floor(period * jitter * random());
}

/**
 * What the user's `retryAfter` asks for, as ms from `now` and capped; null when it gives
 * no usable answer (undefined, not a number or Date, NaN, not in the future) or throws.
 */
export function requestedPause(
  config: Readonly<CircuitBreakerConfig>,
  error: unknown,
  now: number,
): number | null {
  let answer: unknown;
  try {
    answer = config.retryAfter!(error);
  } catch {
    return null;
  }
  let ms: number;
  if (typeof answer === 'number') ms = answer;
  else if (answer instanceof Date) ms = answer.getTime() - now;
  else return null;
  if (!(ms > 0)) return null;
  return Math.min(Math.ceil(ms), periodCap(config));
}
