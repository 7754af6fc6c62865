/**
 * Which outcomes count against the circuit: the user's `isFailure` and `isResultFailure`
 * predicates, asked once per settled call.
 *
 * A predicate is the user's code running inside the breaker's bookkeeping, so what it
 * throws is caught here: a predicate that throws is treated as if it were not configured
 * for that call (the error counts, the value is a success), so that a bug in it can neither
 * break the call nor leave a probe slot taken.
 */

/**
 * The error of a call whose `fn` produced a value that `isResultFailure` judged a failure
 * (a `fetch` Response with status 503, say). The value is kept in {@link ResultFailureError.value}.
 */
export class ResultFailureError extends Error {
  /** Always `'ResultFailureError'`. */
  override name = 'ResultFailureError' as const;
  /** What `fn` produced. */
  readonly value: unknown;

  constructor(value: unknown) {
    super('The call produced a value that isResultFailure judged a failure');
    this.value = value;
  }
}

/** Whether `error` (what `fn` threw, as thrown) counts against the circuit. */
export function countsAsFailure(isFailure: (error: unknown) => boolean, error: unknown): boolean {
  try {
    return isFailure(error) !== false;
  } catch {
    return true;
  }
}

/** Whether `value` (what `fn` produced) is a failure. */
export function isBadResult(isResultFailure: (value: unknown) => boolean, value: unknown): boolean {
  try {
    return isResultFailure(value) === true;
  } catch {
    return false;
  }
}

/**
 * The results of failures that `isFailure` waved through. Only such a result is added (a
 * rare path), so a plain failure costs nothing here; the retry asks it to leave alone a
 * request the service refused on its merits.
 */
const ignored = new WeakSet<object>();

/** Marks `result` as a failure the circuit did not count, and returns it. */
export function ignoredFailure<R extends object>(result: R): R {
  ignored.add(result);
  return result;
}

/** Whether `result` is a failure the circuit did not count. */
export function wasIgnored(result: object): boolean {
  return ignored.has(result);
}
