/**
 * The fleet's probe lease for `executor-circuit-breaker/redis`: the probe gate installed on
 * each breaker, which lets a half-open circuit probe only in the process holding the lease in
 * Redis, and the asking for, renewing and giving back of that lease. Internal.
 */
import * as core from '../index.js';
import type { ProbeGate } from '../index.js';
import type { FleetSettings, SharedBreakers } from './types.js';
import { parseRecord, type StateRecord } from './record.js';
import { ACQUIRE_PROBE, RELEASE_PROBE, type Script } from './scripts.js';

/** A lease is renewed when less than this share of its ttl is left. */
const RENEW_AT = 0.5;

/** This process's part in the probing of one half-open circuit. */
interface Probe {
  /** Whether this process holds the lease (until `until`, local clock, a safe lower bound). */
  owner: boolean;
  until: number;
  /** A lease request or renewal is on its way. */
  pending: boolean;
}

/** What the leases need of the sharing that owns them. */
export interface LeaseHost {
  readonly breakers: SharedBreakers;
  readonly processId: string;
  /** Whether the sharing was closed. */
  closed(): boolean;
  /** Whether Redis can be asked (commands and subscriber up, the last command worked). */
  reachable(): boolean;
  /** Whether the sharing is applying a remote state to the local breakers right now. */
  applying(): boolean;
  settings(name: string): FleetSettings;
  key(kind: 'state' | 'probe', name: string): string;
  /** Runs a script with a deadline; resolves to its reply, or to undefined. Never rejects. */
  command(
    operation: string,
    name: string,
    script: Script,
    keys: string[],
    args: (string | number)[],
    evenIfClosed?: boolean,
  ): Promise<unknown>;
  /** Applies a record of the fleet's state met while asking for the lease. */
  receive(record: StateRecord): void;
}

/** The probe gates and leases of one sharing, per executor. */
export class ProbeLeases {
  readonly #host: LeaseHost;
  readonly #gates = new Map<string, ProbeGate>();
  readonly #probes = new Map<string, Probe>();

  constructor(host: LeaseHost) {
    this.#host = host;
  }

  /** Installs the probe gate of `name`, once. */
  ensureGate(name: string): void {
    if (this.#host.closed() || this.#gates.has(name)) return;
    const gate: ProbeGate = {
      tryAcquire: () => this.#tryProbe(name),
      release: () => {},
    };
    this.#gates.set(name, gate);
    this.#host.breakers.setProbeGate(name, gate);
  }

  /** The executors whose lease this process holds. */
  owned(): string[] {
    return [...this.#probes].filter(([, p]) => p.owner).map(([name]) => name);
  }

  /** Removes every gate installed and forgets every lease (at close). */
  removeAll(): void {
    for (const name of this.#gates.keys()) {
      try {
        this.#host.breakers.setProbeGate(name, null);
      } catch {
        // a registry destroyed meanwhile: nothing to remove
      }
    }
    this.#gates.clear();
    this.#probes.clear();
  }

  /** Gives the lease of `name` back in Redis, if this process holds it there. */
  release(name: string, evenIfClosed?: boolean): Promise<unknown> {
    const host = this.#host;
    return host.command('release-probe', name, RELEASE_PROBE, [host.key('probe', name)], [host.processId], evenIfClosed);
  }

  /**
   * The circuit left HALF_OPEN: forget the lease. A local change's own state write deletes
   * it in Redis; when the change came from another replica, give ours back explicitly.
   */
  leave(name: string): void {
    const probe = this.#probes.get(name);
    if (probe === undefined) return;
    this.#probes.delete(name);
    if (probe.owner && this.#host.applying()) void this.release(name);
  }

  #probe(name: string): Probe {
    let probe = this.#probes.get(name);
    if (probe === undefined) this.#probes.set(name, (probe = { owner: false, until: 0, pending: false }));
    return probe;
  }

  /**
   * May a half-open call of `name` probe? Yes while this process holds the fleet's lease
   * (the breaker's own slots then limit it to successThreshold at once). Without the lease,
   * no, and the lease is asked for. With Redis out of reach, the local breaker decides.
   */
  #tryProbe(name: string): boolean {
    if (!this.#host.reachable()) return true;
    const probe = this.#probe(name);
    const now = Date.now();
    const ttl = this.#host.settings(name).probeLeaseTtl;
    if (probe.owner && probe.until > now) {
      if (probe.until - now < ttl * RENEW_AT) this.#requestLease(name, probe, ttl);
      return true;
    }
    probe.owner = false;
    this.#requestLease(name, probe, ttl);
    return false;
  }

  #requestLease(name: string, probe: Probe, ttl: number): void {
    if (probe.pending) return;
    probe.pending = true;
    const host = this.#host;
    const sentAt = Date.now();
    void host.command('acquire-probe', name, ACQUIRE_PROBE, [host.key('probe', name), host.key('state', name)], [host.processId, ttl]).then(
      (reply) => {
        probe.pending = false;
        if (!Array.isArray(reply)) return;
        const [status, text] = reply as [number, string?];
        const current = !host.closed() && this.#probes.get(name) === probe;
        if (status === 1) {
          if (current && host.breakers.getState(name) === core.CircuitState.HALF_OPEN) {
            probe.owner = true;
            probe.until = sentAt + ttl;
          } else {
            // Granted too late (the circuit moved on, or close()): give it back at once.
            if (current) this.#probes.delete(name);
            void this.release(name, true);
          }
        } else if (!current) {
          return;
        } else if (status === 0) {
          probe.owner = false;
        } else if (typeof text === 'string') {
          // The fleet closed the circuit while this process was asking to probe it.
          const record = parseRecord(text);
          if (record !== null) host.receive(record);
        }
      },
    );
  }
}
