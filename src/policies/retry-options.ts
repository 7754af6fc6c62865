/**
 * The `retry` setting (an execute option and a configuration key): its checks and defaults.
 * Apart from the retry loop so that the configuration's checks can use it without an import
 * circle.
 */
import { show } from '../core/show.js';
import type { RetryOptions } from './types.js';

/** A validated retry setting, defaults filled in (frozen). */
export type RetryPlan = Readonly<Required<Omit<RetryOptions, 'retryIf'>>> & Pick<RetryOptions, 'retryIf'>;

const RETRY_KEYS = new Set(['attempts', 'minDelay', 'maxDelay', 'factor', 'jitter', 'retryIf']);
/** The longest delay `setTimeout` honours. */
const MAX_DELAY = 2 ** 31 - 1;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function attemptsOf(value: unknown, where: string): number {
  if (typeof value !== 'number') throw new TypeError(`${where}.attempts must be a number, got ${show(value)}`);
  if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new RangeError(`${where}.attempts must be an integer from 1 to 1000000, got ${show(value)}`);
  }
  return value;
}

function delayOf(value: unknown, where: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw new TypeError(`${where} must be a number, got ${show(value)}`);
  if (!(value >= 0 && value <= MAX_DELAY)) throw new RangeError(`${where} must be a number of ms from 0 to ${MAX_DELAY}, got ${show(value)}`);
  return value;
}

/**
 * Checks a `retry` setting and returns it with its defaults filled in, or null for none
 * (`false`, or one attempt). `where` names it in error messages, e.g. `execute: options.retry`.
 */
export function normalizeRetry(value: unknown, where: string): RetryPlan | null {
  if (value === false) return null;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
      throw new RangeError(`${where} must be a number of attempts from 1 to 1000000, got ${show(value)}`);
    }
    const attempts = value;
    return attempts === 1 ? null : Object.freeze({ attempts, minDelay: 100, maxDelay: 10_000, factor: 2, jitter: true });
  }
  if (!isPlainObject(value)) {
    throw new TypeError(`${where} must be a number of attempts, an object { attempts, ... } or false, got ${show(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!RETRY_KEYS.has(key)) {
      throw new TypeError(`${where}: unknown key ${JSON.stringify(key)} (keys: ${[...RETRY_KEYS].join(', ')})`);
    }
  }
  const { attempts, minDelay, maxDelay, factor, jitter, retryIf } = value;
  const plan: RetryPlan = {
    attempts: attemptsOf(attempts, where),
    minDelay: delayOf(minDelay, `${where}.minDelay`, 100),
    maxDelay: delayOf(maxDelay, `${where}.maxDelay`, 10_000),
    factor: 2,
    jitter: true,
  };
  if (factor !== undefined) {
    if (typeof factor !== 'number') throw new TypeError(`${where}.factor must be a number, got ${show(factor)}`);
    if (!(factor >= 1 && Number.isFinite(factor))) throw new RangeError(`${where}.factor must be a finite number of at least 1, got ${show(factor)}`);
    (plan as { factor: number }).factor = factor;
  }
  if (plan.maxDelay < plan.minDelay) {
    throw new RangeError(`${where}.maxDelay must be at least minDelay (${plan.minDelay}), got ${show(plan.maxDelay)}`);
  }
  if (jitter !== undefined) {
    if (typeof jitter !== 'boolean') throw new TypeError(`${where}.jitter must be a boolean, got ${show(jitter)}`);
    (plan as { jitter: boolean }).jitter = jitter;
  }
  if (retryIf !== undefined) {
    if (typeof retryIf !== 'function') throw new TypeError(`${where}.retryIf must be a function, got ${show(retryIf)}`);
    plan.retryIf = retryIf as (error: unknown) => boolean;
  }
  return plan.attempts === 1 ? null : Object.freeze(plan);
}

