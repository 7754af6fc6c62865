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
  maxConcurrent: Infinity,
  maxQueue: 0,
  retryBudget: 0.2,
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
const share: Rule = (v) => (v >= 0 ? null : 'a number of at least 0 (a share of first tries), or Infinity');
/** The composition keys that take a function or a retry setting rather than a number. */
const POLICY_KEYS = ['fallback', 'retry'] as const;

/** Checks `fallback` or `retry`; returns the clean value (a retry with its defaults filled in). */
function policyValue(key: (typeof POLICY_KEYS)[number], value: unknown, where: string): unknown {
  if (key === 'retry') return normalizeRetry(value, `${where}: retry`) ?? false;
  if (typeof value !== 'function') throw new TypeError(`${where}: fallback must be a function, got ${show(value)}`);
  return value;
}

const numberRules: Record<Exclude<keyof CircuitBreakerConfig, 'cacheFallback' | (typeof POLICY_KEYS)[number]>, Rule> = {
  maxConcurrent: slots,
  maxQueue: queue,
  retryBudget: share,
  failureThreshold: positiveInteger,
  // The window and the cache age are compared with the clock, never handed to a timer.
  failureWindow: positiveSpan,
  resetTimeout: delay,
  successThreshold: positiveInteger,
  requestTimeout: timeout,
  fallbackMaxAge: positiveSpan,
  fallbackMaxEntries: positiveInteger,
};

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
    if ((POLICY_KEYS as readonly string[]).includes(key)) {
      (clean as Record<string, unknown>)[key] = policyValue(key as (typeof POLICY_KEYS)[number], value, where);
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(numberRules, key)) {
      const known = [...Object.keys(DEFAULT_CONFIG), ...POLICY_KEYS].join(', ');
      throw new TypeError(`${where}: unknown configuration key ${JSON.stringify(key)} (known keys: ${known})`);
    }
    const name = key as keyof typeof numberRules;
    if (typeof value !== 'number') {
      throw new TypeError(`${where}: ${name} must be a number, got ${show(value)}`);
    }
    const wanted = numberRules[name](value);
    if (wanted !== null) {
      throw new RangeError(`${where}: ${name} must be ${wanted}, got ${show(value)}`);
    }
    clean[name] = value;
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
