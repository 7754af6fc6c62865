/**
 * The fleet's probe lease for `executor-circuit-breaker/redis`: the probe gate installed on
 * each breaker, which lets a half-open circuit probe only in the process holding the lease in
 * Redis, and the asking for, renewing and giving back of that lease. Internal.
 *
 * A process holds the lease only while it has a probe running, and for `LEASE_IDLE` ms
 * after (so that its next call goes on probing, and the one that was refused while the lease
 * was on its way can); then it gives it back, and the fleet hears so. A process refused the
 * lease asks again only once the holder's lease can have changed: when it would expire, or
 * when the holder announces it gave it back, or the circuit's state changes.
 */
import { performance } from 'node:perf_hooks';
import * as core from '../index.js';
import type { ProbeGate } from '../index.js';
import type { FleetSettings, SharedBreakers } from './types.js';
import { parseRecord, type StateRecord } from './record.js';
import { ACQUIRE_PROBE, RELEASE_PROBE, type Script } from './scripts.js';

/** A lease is renewed when less than this share of its ttl is left. */
const RENEW_AT = 0.5;

/** How long a holder keeps the lease with no probe running, in ms. */
export const LEASE_IDLE = 100;

/** The least wait before asking again after a refusal, in ms (a lease about to lapse). */
const MIN_RETRY = 10;

/** This process's part in the probing of one half-open circuit. */
interface Probe {
  /** Whether this process holds the lease (until `until`, monotonic clock, a safe lower bound). */
  owner: boolean;
  until: number;
  /** Probes the gate let through whose calls have not settled. */
  running: number;
  /** A lease request or renewal is on its way. */
  pending: boolean;
  /** Not to ask for the lease before this (monotonic clock): the holder's lease stands till then. */
  retryAt: number;
  /** Gives the lease back when no probe runs (LEASE_IDLE), or renews it while probes run. */
  timer: ReturnType<typeof setTimeout> | null;
}

/** What the leases need of the sharing that owns them. */
export interface LeaseHost {
  readonly breakers: SharedBreakers;
  readonly processId: string;
  readonly channel: string;
  /** Whether the sharing was closed. */
  closed(): boolean;
  /** Whether Redis can be asked (commands and subscriber up, the last command worked). */
  reachable(): boolean;
  /** Whether the sharing is applying a remote state to the local breakers right now. */
  applying(): boolean;
  /** A probe of `name` is settling: a close that follows now is the probes' doing, not a hand's. */
  settling(name: string): void;
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

const monotonic = (): number => performance.now();

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
      release: () => this.#probeSettled(name),
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
    for (const probe of this.#probes.values()) stopTimer(probe);
    this.#probes.clear();
  }

  /** Gives the lease of `name` back in Redis, if this process holds it there. */
  release(name: string, evenIfClosed?: boolean): Promise<unknown> {
    const host = this.#host;
    return host.command(
      'release-probe',
      name,
      RELEASE_PROBE,
      [host.key('probe', name)],
      [host.processId, host.channel, name],
      evenIfClosed,
    );
  }

  /**
   * The circuit left HALF_OPEN: forget the lease. A local change's own state write deletes
   * it in Redis; when the change came from another replica, give ours back explicitly.
   */
  leave(name: string): void {
    const probe = this.#probes.get(name);
    if (probe === undefined) return;
    this.#probes.delete(name);
    stopTimer(probe);
    if (probe.owner && this.#host.applying()) void this.release(name);
  }

  /** Another process gave the lease of `name` back: ask again at the next call. */
  freed(name: string): void {
    const probe = this.#probes.get(name);
    if (probe !== undefined) probe.retryAt = 0;
  }

  #probe(name: string): Probe {
    let probe = this.#probes.get(name);
    if (probe === undefined) {
      probe = { owner: false, until: 0, running: 0, pending: false, retryAt: 0, timer: null };
      this.#probes.set(name, probe);
    }
    return probe;
  }

  /**
   * May a half-open call of `name` probe? Yes while this process holds the fleet's lease
   * (the breaker's own slots then limit it to successThreshold at once). Without the lease,
   * no, and the lease is asked for unless the holder's cannot have changed yet. With Redis
   * out of reach, the local breaker decides.
   */
  #tryProbe(name: string): boolean {
    const probe = this.#probe(name);
    if (!this.#host.reachable()) {
      probe.running++;
      return true;
    }
    const now = monotonic();
    if (probe.owner && probe.until > now) {
      probe.running++;
      const ttl = this.#host.settings(name).probeLeaseTtl;
      if (probe.until - now < ttl * RENEW_AT) this.#requestLease(name, probe);
      this.#arm(name, probe);
      return true;
    }
    probe.owner = false;
    if (now >= probe.retryAt) this.#requestLease(name, probe);
    return false;
  }

  /** A probe the gate let through got its result. */
  #probeSettled(name: string): void {
    this.#host.settling(name);
    const probe = this.#probes.get(name);
    if (probe === undefined) return; // the circuit moved on: forgotten already
    if (probe.running > 0) probe.running--;
    this.#arm(name, probe);
  }

  /**
   * The holder's timer: while probes run, renew the lease before it lapses (a probe may run
   * longer than the lease's ttl); with none running, give the lease back after LEASE_IDLE.
   */
  #arm(name: string, probe: Probe): void {
    stopTimer(probe);
    if (!probe.owner || this.#host.closed()) return;
    const ttl = this.#host.settings(name).probeLeaseTtl;
    const running = probe.running > 0;
    // A renewal that got no answer is tried again, but not more often than a few times a ttl.
    const delay = running ? Math.max((ttl * RENEW_AT) / 2, probe.until - ttl * RENEW_AT - monotonic()) : LEASE_IDLE;
    probe.timer = setTimeout(() => {
      probe.timer = null;
      if (this.#probes.get(name) !== probe || !probe.owner) return;
      if (probe.until <= monotonic()) {
        probe.owner = false; // lapsed unrenewed (Redis slow or away): no longer ours
      } else if (probe.running > 0) {
        this.#requestLease(name, probe);
        this.#arm(name, probe);
      } else {
        probe.owner = false;
        void this.release(name);
      }
    }, delay);
    probe.timer.unref?.();
  }

  #requestLease(name: string, probe: Probe): void {
    if (probe.pending) return;
    probe.pending = true;
    const host = this.#host;
    const ttl = host.settings(name).probeLeaseTtl;
    const sentAt = monotonic();
    void host.command('acquire-probe', name, ACQUIRE_PROBE, [host.key('probe', name), host.key('state', name)], [host.processId, ttl]).then(
      (reply) => {
        probe.pending = false;
        if (!Array.isArray(reply)) return;
        const [status, detail] = reply as [number, unknown];
        const current = !host.closed() && this.#probes.get(name) === probe;
        if (status === 1) {
          if (current && host.breakers.getState(name) === core.CircuitState.HALF_OPEN) {
            probe.owner = true;
            probe.until = sentAt + ttl;
            probe.retryAt = 0;
            this.#arm(name, probe);
          } else {
            // Granted too late (the circuit moved on, or close()): give it back at once.
            if (current) this.#probes.delete(name);
            void this.release(name, true);
          }
        } else if (!current) {
          return;
        } else if (status === 0) {
          // Another process holds it for `detail` ms more, unless it gives it back sooner (announced).
          probe.owner = false;
          stopTimer(probe);
          probe.retryAt = monotonic() + Math.max(MIN_RETRY, typeof detail === 'number' ? detail : 0);
        } else if (typeof detail === 'string') {
          // The fleet closed the circuit while this process was asking to probe it.
          const record = parseRecord(detail, false);
          if (record !== null) host.receive(record);
        }
      },
    );
  }
}

function stopTimer(probe: Probe): void {
  if (probe.timer !== null) {
    clearTimeout(probe.timer);
    probe.timer = null;
  }
}
