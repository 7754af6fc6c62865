/**
 * The checking of `shareCircuitState`'s arguments for `executor-circuit-breaker/redis`: the
 * connection, the option keys, each option's value and the fleet-wide settings, with the
 * defaults filled in. One `TypeError` or `RangeError` per bad value. Internal.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import * as core from '../index.js';
import type { FleetSettings, ShareCircuitStateOptions, SharedBreakers } from './types.js';

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

function kind(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** Throws unless `redis` looks like an ioredis connection and `options` is an object of known options. */
export function checkArguments(redis: unknown, options: unknown, where: string): void {
  if (
    typeof redis !== 'object' ||
    redis === null ||
    typeof (redis as Redis).duplicate !== 'function' ||
    typeof (redis as Redis).evalsha !== 'function'
  ) {
    throw new TypeError(`${where}: redis must be an ioredis connection (new Redis(...)), got ${kind(redis)}`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${kind(options)}`);
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
  const prefix = options.prefix ?? 'circuit-breaker:';
  if (typeof prefix !== 'string') throw new TypeError(`${where}: prefix must be a string, got ${kind(prefix)}`);
  const fleet = options.countFailuresFleetWide ?? false;
  if (typeof fleet !== 'boolean') {
    throw new TypeError(`${where}: countFailuresFleetWide must be a boolean, got ${kind(fleet)}`);
  }
  const defaults = checkSettings(options.defaults, `${where}: defaults`);
  const executors = options.executors ?? {};
  if (typeof executors !== 'object' || executors === null || Array.isArray(executors)) {
    throw new TypeError(`${where}: executors must be an object, got ${kind(executors)}`);
  }
  for (const [name, settings] of Object.entries(executors)) checkSettings(settings, `${where}: executors.${name}`);
  const commandTimeout = options.commandTimeout ?? 1_000;
  if (typeof commandTimeout !== 'number' || !(commandTimeout > 0) || !Number.isFinite(commandTimeout)) {
    throw new RangeError(`${where}: commandTimeout must be a positive finite number of ms, got ${String(commandTimeout)}`);
  }
  const processId = options.processId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  if (typeof processId !== 'string' || processId === '') {
    throw new TypeError(`${where}: processId must be a non-empty string, got ${kind(processId)}`);
  }
  return { breakers, prefix, countFailuresFleetWide: fleet, defaults, executors, commandTimeout, processId };
}

function checkSettings(value: unknown, where: string): Partial<FleetSettings> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${where} must be an object, got ${kind(value)}`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (!SETTING_KEYS.includes(key as keyof FleetSettings)) {
      throw new TypeError(`${where}: unknown setting ${JSON.stringify(key)} (settings: ${SETTING_KEYS.join(', ')})`);
    }
    const integer = key === 'failureThreshold';
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      throw new RangeError(`${where}.${key} must be ${integer ? 'a positive integer' : 'a positive finite number of ms'}, got ${String(v)}`);
    }
  }
  return value as Partial<FleetSettings>;
}

function breakersOf(source: SharedBreakers | undefined, where: string): SharedBreakers {
  const b = (source ?? core) as unknown as Record<string, unknown>;
  const missing =
    typeof b !== 'object' || b === null ? METHODS : METHODS.filter((m) => typeof b[m] !== 'function');
  if (missing.length > 0) {
    throw new TypeError(
      source === undefined
        ? `${where}: this version of executor-circuit-breaker lacks ${missing.join(', ')}`
        : `${where}: breakers must be a circuit breaker registry (an object with ${METHODS.join(', ')}), got ${kind(source)}`,
    );
  }
  return b as unknown as SharedBreakers;
}
