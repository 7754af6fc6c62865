import { show } from './config.js';

/**
 * The error of a call the circuit refused to run: the circuit is OPEN, or HALF_OPEN with
 * every probe slot taken.
 *
 * It carries no stack trace: it is made once per open period and shared by every call
 * rejected in it, so rejecting stays cheap when a service is down and traffic is high.
 */
export class CircuitOpenError extends Error {
  /** Always `'CircuitOpenError'`. */
  override name = 'CircuitOpenError' as const;
  /** The executor whose circuit rejected the call. */
  readonly executorName: string;
  /** When the circuit lets probes through again; null when opened by hand or half-open. */
  readonly nextAttemptTime: Date | null;

  constructor(executorName: string, nextAttemptTime: Date | null, halfOpen = false) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(
      halfOpen
        ? `Circuit for "${executorName}" is half-open and every probe slot is taken`
        : nextAttemptTime
          ? `Circuit for "${executorName}" is open until ${nextAttemptTime.toISOString()}`
          : `Circuit for "${executorName}" is held open until it is closed`,
    );
    Error.stackTraceLimit = limit;
    this.executorName = executorName;
    this.nextAttemptTime = nextAttemptTime;
  }
}

/** The error of a call that ran longer than its executor's `requestTimeout`. */
export class TimeoutError extends Error {
  /** Always `'TimeoutError'`. */
  override name = 'TimeoutError' as const;
  /** The executor whose call timed out. */
  readonly executorName: string;
  /** The limit that was exceeded, in ms. */
  readonly timeout: number;

  constructor(executorName: string, timeout: number) {
    super(`Call to "${executorName}" timed out after ${timeout} ms`);
    this.executorName = executorName;
    this.timeout = timeout;
  }
}

/**
 * Turns anything thrown into an `Error`, keeping a non-`Error` as `cause`, and its string
 * `message` if it has one (SDKs and hand-written code reject with `{ status, message }`).
 */
export function toError(thrown: unknown): Error {
  if (isError(thrown)) return thrown;
  const message = messageOf(thrown);
  return new Error(message ?? `Non-Error thrown: ${describe(thrown)}`, { cause: thrown });
}

/** The value's `message` if it is a string and reading it works; never throws. */
function messageOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    const message: unknown = (value as { message?: unknown }).message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

/** Never throws, even for a Proxy whose traps throw: then it is simply not an Error. */
function isError(value: unknown): value is Error {
  try {
    // The tag check also accepts errors made in another realm (a vm context, a worker's copy).
    return value instanceof Error || Object.prototype.toString.call(value) === '[object Error]';
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return show(value);
  }
}
