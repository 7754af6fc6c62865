/**
 * The record of one circuit's fleet-wide state, as `executor-circuit-breaker/redis` stores it
 * in a state key and publishes it on the channel, and the parser that reads it back. Internal.
 */

/** A record of the fleet's state of one circuit, as stored and published. */
export interface StateRecord {
  name: string;
  state: 'OPEN' | 'CLOSED';
  until: number | null;
  origin: string;
  seq: number;
}

/** Reads a record; null when `text` is not one (the caller reports it). */
export function parseRecord(text: string): StateRecord | null {
  try {
    const r = JSON.parse(text) as Partial<StateRecord> & { until?: unknown };
    if (
      typeof r === 'object' &&
      r !== null &&
      typeof r.name === 'string' &&
      (r.state === 'OPEN' || r.state === 'CLOSED') &&
      typeof r.origin === 'string' &&
      typeof r.seq === 'number'
    ) {
      return { name: r.name, state: r.state, until: typeof r.until === 'number' ? r.until : null, origin: r.origin, seq: r.seq };
    }
  } catch {
    // reported by the caller
  }
  return null;
}
