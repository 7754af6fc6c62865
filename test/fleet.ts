/**
 * Drives replica processes (test/fixtures/replica.mjs) and a fake service for the Redis
 * suite: every replica is a real Node process on the built package, talking to one Redis.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const REPLICA = fileURLToPath(new URL('./fixtures/replica.mjs', import.meta.url));

export interface ReplicaOptions {
  port: number;
  prefix: string;
  fleet?: boolean;
  config?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  commandTimeout?: number;
  /** ms added to the replica registry's clock (its `clock` option). */
  skew?: number;
}

export interface ReplicaEvent {
  event: string;
  [key: string]: any;
}

export interface Replica {
  readonly pid: number;
  readonly events: ReplicaEvent[];
  /** Sends an op and resolves to its reply (rejects on a failed op or after `ms`). */
  send(op: string, args?: Record<string, unknown>, ms?: number): Promise<any>;
  kill(): void;
}

export async function startReplica(options: ReplicaOptions): Promise<Replica> {
  const child: ChildProcess = fork(REPLICA, [], {
    env: { ...process.env, REPLICA: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const events: ReplicaEvent[] = [];
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let next = 0;
  let exited = false;
  child.on('message', (msg: any) => {
    if (typeof msg.id === 'number') {
      const w = waiting.get(msg.id);
      waiting.delete(msg.id);
      if (msg.ok) w?.resolve(msg);
      else w?.reject(new Error(msg.message));
    } else {
      events.push(msg);
    }
  });
  child.on('exit', (code, signal) => {
    exited = true;
    for (const w of waiting.values()) w.reject(new Error(`replica exited (${code ?? signal}):\n${stderr}`));
    waiting.clear();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start:\n${stderr}`)), 15_000);
    child.on('message', (msg: any) => {
      if (msg.event === 'started') {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`replica exited at start:\n${stderr}`));
    });
  });
  return {
    pid: child.pid!,
    events,
    send(op, args = {}, ms = 10_000) {
      if (exited) return Promise.reject(new Error(`replica exited:\n${stderr}`));
      const id = next++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`replica gave no answer to ${op} within ${ms} ms`));
        }, ms);
        waiting.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ id, op, ...args });
      });
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
  };
}

/** Polls `check` until it returns a truthy value, or throws after `ms` with the last value seen. */
export async function until<T>(
  what: string,
  check: () => Promise<T> | T,
  ms = 10_000,
  every = 25,
): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last as Exclude<T, false | 0 | '' | null | undefined>;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** A fake service on 127.0.0.1: answers 200 when up, 500 when down, and counts the hits. */
export interface FakeService {
  readonly url: string;
  up: boolean;
  /** Every hit: whether the service was up, and the state that admitted the call. */
  readonly hits: { up: boolean; state: string; pid: string }[];
  close(): Promise<void>;
}

export async function startFakeService(): Promise<FakeService> {
  const hits: FakeService['hits'] = [];
  const service = {
    up: true,
    hits,
  } as { up: boolean; hits: FakeService['hits'] };
  const server = http.createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    hits.push({ up: service.up, state: query.get('state') ?? '', pid: query.get('pid') ?? '' });
    res.statusCode = service.up ? 200 : 500;
    res.end(service.up ? 'ok' : 'down');
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(service, {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
