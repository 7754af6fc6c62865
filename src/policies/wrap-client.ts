/**
 * `wrapClient`: a proxy of an SDK client whose methods, at any depth, run through the
 * breaker. Methods run on the real objects (so `this` is what the SDK expects); namespaces
 * (`notion.pages`, `slack.chat`) come back as proxies too; everything else passes through.
 */
import type { ExecuteOptions } from '../core/types.js';

/** Options of `wrapClient`: those of `execute` but `cacheKey`, and which methods are reads. */
export interface WrapClientOptions extends Omit<ExecuteOptions, 'cacheKey'> {
  /**
   * Whether the method at `path` (`'pages.retrieve'`, `'conversations.history'`) is a read
   * whose last good answer may stand in while the circuit is open. Default: none is. A
   * read's cache entry is keyed by its path and a stable serialization of its arguments.
   * One that throws means no.
   */
  cacheable?: (path: string) => boolean;
}

/** Runs one method call through the breaker: `key` null keeps it away from the cache. */
export type RunMethod = (fn: () => unknown, key: string | null) => Promise<unknown>;

/**
 * Methods that are not calls to the service: the event emitter's (SDK clients emit
 * events), paginating iterators, and what every object has.
 */
const NOT_CALLS = new Set([
  'on', 'once', 'off', 'emit', 'addListener', 'removeListener', 'removeAllListeners', 'listeners',
  'rawListeners', 'listenerCount', 'eventNames', 'prependListener', 'prependOnceListener',
  'setMaxListeners', 'getMaxListeners', 'paginate',
]);

class Unserializable extends Error {}

/**
 * A text that is the same for equal arguments whatever their key order: objects by sorted
 * keys (undefined values left out, as JSON does), arrays, strings, numbers, booleans, null,
 * undefined, bigints and Dates. Anything else (a function, a Map, a class instance, a
 * cycle) throws {@link Unserializable}: such a call is not cached rather than risk one
 * call's data answering for another's.
 */
export function stableKey(value: unknown, seen: unknown[] = []): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return 'undefined';
    case 'object': {
      if (value === null) return 'null';
      if (seen.includes(value)) throw new Unserializable();
      if (value instanceof Date) return `Date(${value.getTime()})`;
      seen.push(value);
      let text: string;
      if (Array.isArray(value)) {
        text = `[${value.map((item) => stableKey(item, seen)).join(',')}]`;
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) throw new Unserializable();
        const record = value as Record<string, unknown>;
        const parts = Object.keys(record)
          .sort()
          .filter((key) => record[key] !== undefined)
          .map((key) => `${JSON.stringify(key)}:${stableKey(record[key], seen)}`);
        text = `{${parts.join(',')}}`;
      }
      seen.pop();
      return text;
    }
    default:
      throw new Unserializable();
  }
}

function isNamespace(value: unknown): value is object {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Whether `get` may hand out something else than the property's own value (proxy invariant). */
function replaceable(target: object, key: string): boolean {
  const own = Object.getOwnPropertyDescriptor(target, key);
  return own === undefined || own.configurable === true || own.writable === true;
}

/** The proxy of `client` (see the file's comment). */
export function proxyClient<C extends object>(
  client: C,
  cacheable: ((path: string) => boolean) | undefined,
  run: RunMethod,
): C {
  /** The key of a read's cache entry, or null: a write, or arguments that cannot be keyed. */
  const keyOf = (path: string, args: unknown[]): string | null => {
    if (cacheable === undefined) return null;
    try {
      if (cacheable(path) !== true) return null;
      return `${path}(${args.map((arg) => stableKey(arg)).join(',')})`;
    } catch {
      return null;
    }
  };

  const wrapObject = <O extends object>(target: O, path: string): O => {
    // One wrapper per property, so that `client.pages === client.pages` and a method read
    // twice is the same function; remade if the property was replaced.
    const made = new Map<string, { from: unknown; to: unknown }>();
    return new Proxy(target, {
      get(t, key) {
        const value: unknown = Reflect.get(t, key, t);
        if (typeof key === 'symbol' || key === 'constructor' || key === 'then') return value;
        const isFunction = typeof value === 'function';
        const isMethod = isFunction && !NOT_CALLS.has(key) && !(key in Object.prototype);
        if (!isFunction && !isNamespace(value)) return value;
        const known = made.get(key);
        if (known !== undefined && known.from === value) return known.to;
        if (!replaceable(t, key)) return value;
        const at = path === '' ? key : `${path}.${key}`;
        let to: unknown;
        if (isFunction && !isMethod) {
          // Not a call to the service, but it too runs on the real object: a paginator's
          // own requests are the SDK's business, not a second trip through the breaker.
          to = (value as (...args: unknown[]) => unknown).bind(t);
        } else if (isMethod) {
          const method = value as (...args: unknown[]) => unknown;
          to = function (this: unknown, ...args: unknown[]): Promise<unknown> {
            // On the real object, whatever the proxy was called through.
            return run(() => method.apply(t, args), keyOf(at, args));
          };
        } else {
          to = wrapObject(value as object, at);
        }
        made.set(key, { from: value, to });
        return to;
      },
    });
  };
  return wrapObject(client, '');
}
