import { normalizeRetry } from '../policies/retry-options.js';
import { show } from './show.js';
import type { CircuitBreakerConfig } from './types.js';

export { show };

/** The built-in configuration of every breaker. */
export const DEFAULT_CONFIG: Readonly<CircuitBreakerConfig> = Object.freeze({
  failureThreshold: 5,
  failureWindow: 60 * 1000,
  resetTimeout: 30 * 1000,
  successThreshold: 2,
  requestTimeout: 10 * 1000,
  cacheFallback: true,
  fallbackMaxAge: 5 * 60 * 1000,
  fallbackMaxEntries: 100,
  minimumRequests: 10,
  slowCallDuration: Infinity,
  slowCallRateThreshold: 1,
  resetTimeoutMultiplier: 1,
  maxResetTimeout: 10 * 60 * 1000,
  resetTimeoutJitter: 0,
  maxConcurrent: Infinity,
  maxQueue: 0,
  retryBudget: 0.2,
  // Present though unset, so that every configuration object has one shape: a breaker's
  // reads of its configuration stay monomorphic whichever keys an app sets.
  isFailure: undefined,
  isResultFailure: undefined,
  failureRateThreshold: undefined,
  retryAfter: undefined,
  fallback: undefined,
  retry: undefined,
});

/** The longest delay `setTimeout` honours; longer ones fire at once. */
export const MAX_DELAY = 2 ** 31 - 1;

type Rule = (value: number) => string | null;

const positiveInteger: Rule = (v) =>
  Number.isInteger(v) && v > 0 && v <= Number.MAX_SAFE_INTEGER ? null : 'a positive integer';
const positiveSpan: Rule = (v) => (v > 0 && Number.isFinite(v) ? null : 'a finite number of ms above 0');
const delay: Rule = (v) =>
  v >= 0 && v <= MAX_DELAY ? null : `a number of ms from 0 to ${MAX_DELAY}`;
const timeout: Rule = (v) =>
  v === Infinity || (v > 0 && v <= MAX_DELAY)
    ? null
    : `a number of ms above 0 and at most ${MAX_DELAY}, or Infinity for no timeout`;

// Composition keys (src/policies/): the bulkhead and the retry budget.
const slots: Rule = (v) =>
  v === Infinity || (Number.isInteger(v) && v > 0 && v <= Number.MAX_SAFE_INTEGER) ? null : 'a positive integer or Infinity';
const queue: Rule = (v) =>
  v === Infinity || (Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER) ? null : 'an integer of at least 0, or Infinity';
const budgetShare: Rule = (v) => (v >= 0 ? null : 'a number of at least 0 (a share of first tries), or Infinity');
/** The composition keys that take a function or a retry setting rather than a number. */
const COMPOSITION_KEYS = ['fallback', 'retry'] as const;

/** Checks `fallback` or `retry`; returns the clean value (a retry with its defaults filled in). */
function compositionValue(key: (typeof COMPOSITION_KEYS)[number], value: unknown, where: string): unknown {
  if (key === 'retry') return normalizeRetry(value, `${where}: retry`) ?? false;
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`${where}: fallback must be a function, got ${show(value)}`);
  }
  return value;
}

const numberRules: Partial<Record<keyof CircuitBreakerConfig, Rule>> = {
  maxConcurrent: slots,
  maxQueue: queue,
  retryBudget: budgetShare,
  failureThreshold: (v) => (v === Infinity || positiveInteger(v) === null ? null : 'a positive integer, or Infinity for no count rule'),
  // The window and the cache age are compared with the clock, never handed to a timer.
  failureWindow: positiveSpan,
  resetTimeout: delay,
  successThreshold: positiveInteger,
  requestTimeout: timeout,
  fallbackMaxAge: positiveSpan,
  fallbackMaxEntries: positiveInteger,
};

// The keys of the outcome and opening policies (src/policies/): numbers that are always
// set, and optional keys that `undefined` turns off again.
const share: Rule = (v) => (v > 0 && v <= 1 ? null : 'a number above 0 and at most 1');
const policyRules: Partial<Record<keyof CircuitBreakerConfig, Rule>> = {
  minimumRequests: positiveInteger,
  slowCallDuration: (v) =>
    v === Infinity || (v > 0 && v <= MAX_DELAY)
      ? null
      : `a number of ms above 0 and at most ${MAX_DELAY}, or Infinity for no slow-call rule`,
  slowCallRateThreshold: share,
  resetTimeoutMultiplier: (v) => (v >= 1 && Number.isFinite(v) ? null : 'a finite number of at least 1'),
  maxResetTimeout: delay,
  resetTimeoutJitter: (v) => (v >= 0 && v < 1 ? null : 'a number from 0 up to (not including) 1'),
  failureRateThreshold: share,
};
const OPTIONAL_NUMBERS = new Set(['failureRateThreshold']);
const PREDICATES = new Set(['isFailure', 'isResultFailure', 'retryAfter']);
const KNOWN_KEYS = Object.keys(DEFAULT_CONFIG).join(', ');

/** Checks one policy key; false if `key` is not one. */
function validatePolicyKey(key: string, value: unknown, where: string, clean: Record<string, unknown>): boolean {
  if (PREDICATES.has(key)) {
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(`${where}: ${key} must be a function (or undefined to remove it), got ${show(value)}`);
    }
  } else if (Object.prototype.hasOwnProperty.call(policyRules, key)) {
    if (!(value === undefined && OPTIONAL_NUMBERS.has(key))) {
      if (typeof value !== 'number') throw new TypeError(`${where}: ${key} must be a number, got ${show(value)}`);
      const wanted = policyRules[key as keyof CircuitBreakerConfig]!(value);
      if (wanted !== null) throw new RangeError(`${where}: ${key} must be ${wanted}, got ${show(value)}`);
    }
  } else {
    return false;
  }
  clean[key] = value;
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Checks a partial configuration and returns a clean copy of it. Throws a `TypeError`
 * (unknown key, wrong type) or `RangeError` (bad number) that names the key and the value,
 * so the caller can leave its old configuration untouched.
 */
export function validateConfig(partial: unknown, where: string): Partial<CircuitBreakerConfig> {
  if (!isPlainObject(partial)) {
    throw new TypeError(`${where}: the configuration must be a plain object, got ${show(partial)}`);
  }
  const clean: Partial<CircuitBreakerConfig> = {};
  for (const key of Object.keys(partial)) {
    const value = partial[key];
    if (key === 'cacheFallback') {
      if (typeof value !== 'boolean') {
        throw new TypeError(`${where}: cacheFallback must be a boolean, got ${show(value)}`);
      }
      clean.cacheFallback = value;
      continue;
    }
    if ((COMPOSITION_KEYS as readonly string[]).includes(key)) {
      (clean as Record<string, unknown>)[key] = compositionValue(key as (typeof COMPOSITION_KEYS)[number], value, where);
      continue;
    }
    if (validatePolicyKey(key, value, where, clean as Record<string, unknown>)) continue;
    if (!Object.prototype.hasOwnProperty.call(numberRules, key)) {
      throw new TypeError(`${where}: unknown configuration key ${JSON.stringify(key)} (known keys: ${KNOWN_KEYS})`);
    }
    const name = key as keyof CircuitBreakerConfig;
    if (typeof value !== 'number') {
      throw new TypeError(`${where}: ${name} must be a number, got ${show(value)}`);
    }
    const wanted = numberRules[name]!(value);
    if (wanted !== null) {
      throw new RangeError(`${where}: ${name} must be ${wanted}, got ${show(value)}`);
    }
    (clean as Record<string, unknown>)[name] = value;
  }
  return clean;
}

/** The configuration that results from laying `partial` over `base`, frozen. */
export function mergeConfig(
  base: Readonly<CircuitBreakerConfig>,
  partial: Partial<CircuitBreakerConfig>,
): Readonly<CircuitBreakerConfig> {
  return Object.freeze({ ...base, ...partial });
}
