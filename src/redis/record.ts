/**
 * The record of one circuit's fleet-wide state, as `executor-circuit-breaker/redis` stores it
 * in a state key and publishes it on the channel, and the parsers that read it back. Internal.
 */

/** A record of the fleet's state of one circuit, as stored and published. */
export interface StateRecord {
  name: string;
  state: 'OPEN' | 'CLOSED';
  /** The next attempt time on Redis's clock (ms since the epoch); null when held open by hand, or closed. */
  until: number | null;
  origin: string;
  /** Orders the records of one circuit: each write is one above the one it replaced. */
  version: number;
  /** Whether the change was made by hand (`openCircuit`, `closeCircuit`, `reset`). */
  manual: boolean;
  /**
   * The ms left until `until` when Redis sent the record (its own clock); null when there is
   * no `until`. Processes open for this long by their own clock: no two clocks are compared.
   */
  remaining: number | null;
}

/** A notice that the probe lease of a circuit was given back: waiting processes may ask now. */
export interface LeaseFree {
  name: string;
  lease: 'free';
  origin: string;
}

function recordOf(r: Record<string, unknown>, remaining: unknown): StateRecord | null {
  if (
    typeof r.name === 'string' &&
    (r.state === 'OPEN' || r.state === 'CLOSED') &&
    typeof r.origin === 'string' &&
    typeof r.version === 'number'
  ) {
    return {
      name: r.name,
      state: r.state,
      until: typeof r.until === 'number' ? r.until : null,
      origin: r.origin,
      version: r.version,
      manual: r.manual === true,
      remaining: typeof remaining === 'number' ? remaining : null,
    };
  }
  return null;
}

function parse(text: string): Record<string, unknown> | null {
  try {
    const r: unknown = JSON.parse(text);
    return typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as Record<string, unknown>) : null;
  } catch {
    return null; // reported by the caller
  }
}

/**
 * Reads a stored record; `remaining` is what the script that read it computed (false: no
 * `until`). Null when `text` is not one (the caller reports it).
 */
export function parseRecord(text: string, remaining: unknown): StateRecord | null {
  const r = parse(text);
  return r === null ? null : recordOf(r, remaining);
}

/** Reads a message of the channel: a record (with its `remaining`) or a lease notice; null otherwise. */
export function parseMessage(text: string): StateRecord | LeaseFree | null {
  const r = parse(text);
  if (r === null) return null;
  if (r.lease === 'free' && typeof r.name === 'string' && typeof r.origin === 'string') {
    return { name: r.name, lease: 'free', origin: r.origin };
  }
  return recordOf(r, r.remaining);
}
