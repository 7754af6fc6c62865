/**
 * Shapes for app code: `executeOrThrow` (data or a rejection) and `wrap` (a function with
 * `fn`'s parameters that runs it through the breaker).
 */
import { show } from '../core/show.js';
import type { ExecuteOptions, ExecutionResult } from '../core/types.js';

/**
 * Options of `wrap`: those of `execute`, except that `cacheKey` may also be a function of
 * the arguments, so that each distinct read keeps its own fallback cache entry.
 */
export interface WrapOptions<A extends unknown[] = unknown[]> extends Omit<ExecuteOptions, 'cacheKey'> {
  /** The fallback cache entry of a call: a string, or a function of its arguments. */
  cacheKey?: string | ((...args: A) => string);
}

/** A result's data, or its error as a rejection. */
export function unwrap<T>(result: ExecutionResult<T>): T {
  if (result.success) return result.data;
  throw result.error;
}

/** What `wrap` needs of a registry: an execute that takes already read options. */
export type RunWrapped = (
  fn: (signal?: AbortSignal) => unknown,
  cacheKey: string | undefined,
) => Promise<ExecutionResult<unknown>>;

/**
 * The function `wrap` returns. `this` and the arguments reach `fn` as given. `fn` gets the
 * call's AbortSignal as one more argument only when it declares more parameters than the
 * caller passed: then the signal takes the place of its last declared parameter
 * (`fn.length - 1`), with `undefined` for any argument left out before it. A `fn` that
 * never declares it costs no AbortController.
 */
export function wrapFunction<A extends unknown[], R>(
  fn: (...args: A) => R | PromiseLike<R>,
  cacheKey: WrapOptions<A>['cacheKey'],
  run: RunWrapped,
): (...args: A) => Promise<ExecutionResult<Awaited<R>>> {
  const declared = fn.length;
  return function wrapped(this: unknown, ...args: A): Promise<ExecutionResult<Awaited<R>>> {
    let key: string | undefined;
    if (typeof cacheKey === 'function') {
      try {
        key = cacheKey(...args);
      } catch (error) {
        return Promise.reject(error);
      }
      if (typeof key !== 'string') {
        return Promise.reject(new TypeError(`wrap: options.cacheKey(...) must return a string, got ${show(key)}`));
      }
    } else {
      key = cacheKey;
    }
    const self = this;
    const call =
      args.length < declared
        ? (signal?: AbortSignal) => {
            const full = args.slice() as unknown[];
            while (full.length < declared - 1) full.push(undefined);
            full.push(signal);
            return fn.apply(self, full as A);
          }
        : () => fn.apply(self, args);
    return run(call, key) as Promise<ExecutionResult<Awaited<R>>>;
  };
}
