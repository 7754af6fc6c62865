/**
 * The checking of `shareCircuitState`'s arguments for `executor-circuit-breaker/redis`: the
 * connection, the option keys, each option's value and the fleet-wide settings, with the
 * defaults filled in. One `TypeError` or `RangeError` per bad value. Internal.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import * as core from '../index.js';
import type { FleetSettings, RedisConnection, ShareCircuitStateOptions, SharedBreakers } from './types.js';

/** The options of a sharing, checked and with their defaults. */
export interface SharingConfig {
  breakers: SharedBreakers;
  prefix: string;
  countFailuresFleetWide: boolean;
  /** Fleet-wide settings of every executor, over each one's own configuration. */
  defaults: Partial<FleetSettings>;
  /** The fleet-wide settings per executor, over `defaults`. */
  executors: Record<string, Partial<FleetSettings>>;
  commandTimeout: number;
  processId: string;
}

const OPTION_KEYS = [
  'breakers',
  'prefix',
  'countFailuresFleetWide',
  'defaults',
  'executors',
  'commandTimeout',
  'processId',
];
const SETTING_KEYS: (keyof FleetSettings)[] = ['failureThreshold', 'failureWindow', 'resetTimeout', 'probeLeaseTtl'];
const METHODS = ['on', 'off', 'getState', 'getStats', 'getConfig', 'getExecutors', 'openCircuit', 'closeCircuit', 'tripCircuit', 'setProbeGate'];

/** The longest delay a Node.js timer keeps (a longer one fires after 1 ms). */
export const MAX_TIMER = 2_147_483_647;

function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** A value as a message shows it: strings quoted, so `'1000'` is not mistaken for 1000. */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value === undefined) return String(value);
  return kind(value);
}

/** A positive number of ms, finite and within a timer's reach; `integer` when Redis needs one. */
function checkMs(value: unknown, what: string, integer: boolean): void {
  if (typeof value !== 'number') {
    throw new TypeError(`${what} must be a number of ms, got ${show(value)}`);
  }
  if (!(value > 0) || value > MAX_TIMER || (integer && !Number.isInteger(value))) {
    throw new RangeError(
      `${what} must be a positive ${integer ? 'integer' : 'number'} of ms, at most ${MAX_TIMER}, got ${show(value)}`,
    );
  }
}

/** Throws unless `redis` looks like an ioredis connection and `options` is an object of known options. */
export function checkArguments(redis: unknown, options: unknown, where: string): void {
  if (
    typeof redis !== 'object' ||
    redis === null ||
    typeof (redis as RedisConnection).duplicate !== 'function' ||
    typeof (redis as RedisConnection).evalsha !== 'function'
  ) {
    throw new TypeError(`${where}: redis must be an ioredis connection (new Redis(...) or new Cluster(...)), got ${show(redis)}`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new TypeError(`${where}: unknown option ${JSON.stringify(key)} (options: ${OPTION_KEYS.join(', ')})`);
    }
  }
}

/** Checks each option's value, in the order of the options, and fills in the defaults. */
export function resolveOptions(options: ShareCircuitStateOptions, where: string): SharingConfig {
  const breakers = breakersOf(options.breakers, where);
  const prefix = options.prefix === undefined ? 'circuit-breaker:' : options.prefix;
  if (typeof prefix !== 'string') throw new TypeError(`${where}: prefix must be a string, got ${show(prefix)}`);
  if (prefix === '' || /[{}]/.test(prefix)) {
    throw new RangeError(`${where}: prefix must be a non-empty string without "{" or "}", got ${show(prefix)}`);
  }
  const fleet = options.countFailuresFleetWide === undefined ? false : options.countFailuresFleetWide;
  if (typeof fleet !== 'boolean') {
    throw new TypeError(`${where}: countFailuresFleetWide must be a boolean, got ${show(fleet)}`);
  }
  const defaults = checkSettings(options.defaults, `${where}: defaults`);
  const executors = options.executors === undefined ? {} : options.executors;
  if (typeof executors !== 'object' || executors === null || Array.isArray(executors)) {
    throw new TypeError(`${where}: executors must be an object, got ${show(executors)}`);
  }
  for (const [name, settings] of Object.entries(executors)) checkSettings(settings, `${where}: executors[${JSON.stringify(name)}]`);
  const commandTimeout = options.commandTimeout === undefined ? 1_000 : options.commandTimeout;
  checkMs(commandTimeout, `${where}: commandTimeout`, false);
  const processId =
    options.processId === undefined ? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}` : options.processId;
  if (typeof processId !== 'string' || processId === '') {
    throw new TypeError(`${where}: processId must be a non-empty string, got ${show(processId)}`);
  }
  return { breakers, prefix, countFailuresFleetWide: fleet, defaults, executors, commandTimeout, processId };
}

function checkSettings(value: unknown, where: string): Partial<FleetSettings> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object, got ${show(value)}`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (!SETTING_KEYS.includes(key as keyof FleetSettings)) {
      throw new TypeError(`${where}: unknown setting ${JSON.stringify(key)} (settings: ${SETTING_KEYS.join(', ')})`);
    }
    if (key === 'failureThreshold') {
      if (typeof v !== 'number') throw new TypeError(`${where}.${key} must be a number, got ${show(v)}`);
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${where}.${key} must be a positive integer, got ${show(v)}`);
    } else {
      // Redis takes a lease's ttl (PX) in whole ms; the others are turned into whole ms where needed.
      checkMs(v, `${where}.${key}`, key === 'probeLeaseTtl');
    }
  }
  return value as Partial<FleetSettings>;
}

function breakersOf(source: SharedBreakers | undefined, where: string): SharedBreakers {
  const b = (source === undefined ? core : source) as unknown as Record<string, unknown>;
  const missing =
    typeof b !== 'object' || b === null ? METHODS : METHODS.filter((m) => typeof b[m] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(
      source === undefined
        ? `${where}: this version of executor-circuit-breaker lacks ${missing.join(', ')}`
        : `${where}: breakers must be a circuit breaker registry (an object with ${METHODS.join(', ')}), got ${show(source)}`,
    );
  }
  return b as unknown as SharedBreakers;
}
