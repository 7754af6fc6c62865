import { LRUCache } from 'lru-cache';

/** What {@link FallbackCache.lookup} returns when it has no fresh value. */
export const MISS: unique symbol = Symbol('miss');

interface Entry {
  value: unknown;
  at: number;
}

/**
 * One executor's fallback cache: the last successful result for each `cacheKey`, used to
 * answer calls the circuit rejects.
 *
 * Most executors only ever use the default key, so that entry lives in two plain fields;
 * an LRU of explicit keys (bounded by `fallbackMaxEntries`) is made on the first explicit
 * key. Ages are checked against the registry's clock on every lookup rather than handed to
 * lru-cache as TTLs, so a new `fallbackMaxAge` applies at once to what is already stored and
 * no purge timer is ever started.
 */
export class FallbackCache {
  #value: unknown = undefined;
  /** When the default entry was stored; -Infinity while there is none. */
  #at = -Infinity;
  #keyed: LRUCache<string, Entry> | null = null;
  #maxEntries: number;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** Keeps `value` as the latest result for `key` (the default entry when undefined). */
  store(key: string | undefined, value: unknown, now: number): void {
    if (key === undefined) {
      this.#value = value;
      this.#at = now;
      return;
    }
    (this.#keyed ??= new LRUCache<string, Entry>({ max: this.#maxEntries })).set(key, { value, at: now });
  }

  /** The value kept for `key` if it is younger than `maxAge` ms, else {@link MISS}. */
  lookup(key: string | undefined, now: number, maxAge: number): unknown {
    if (key === undefined) {
      if (now - this.#at < maxAge) return this.#value;
      this.#value = undefined; // let a stale value be collected
      this.#at = -Infinity;
      return MISS;
    }
    const entry = this.#keyed?.get(key);
    if (entry === undefined) return MISS;
    if (now - entry.at < maxAge) return entry.value;
    this.#keyed!.delete(key);
    return MISS;
  }

  /** Applies a new bound on keyed entries, keeping the most recently used ones. */
  resize(maxEntries: number): void {
    if (maxEntries === this.#maxEntries) return;
    this.#maxEntries = maxEntries;
    const old = this.#keyed;
    if (!old) return;
    const next = new LRUCache<string, Entry>({ max: maxEntries });
    // rkeys() walks least recently used first, so the newest end up most recent.
    for (const key of old.rkeys()) next.set(key, old.peek(key)!);
    this.#keyed = next;
  }
}
