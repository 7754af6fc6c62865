/**
 * A throwaway redis-server for the tests: on 127.0.0.1, a free port, no persistence
 * (`--save '' --appendonly no`), so a restart starts empty. `kill()` stops it at once
 * (SIGKILL, as a crash would), `start()` brings it back on the same port.
 *
 * Needs `redis-server` on the PATH (or REDIS_SERVER=/path/to/redis-server); .ci/run
 * installs Debian's if it is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

/** Whether a redis-server can be started here. */
export function redisServerAvailable(): boolean {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && /Redis server/.test(probe.stdout);
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a PING on `port` gets a PONG within `ms`. */
function ping(port: number, ms = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      answer += data.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

export interface RedisServer {
  readonly port: number;
  /** Whether the server process is running. */
  readonly running: boolean;
  /** Starts the server (again) on the same port and waits until it answers PING. */
  start(): Promise<void>;
  /** SIGKILL, as a crash; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Same as kill(); does nothing when it is not running. */
  stop(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  let log = '';

  const start = async (): Promise<void> => {
    if (child) throw new Error('redis-server is already running');
    log = '';
    const proc = spawn(
      BINARY,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.stdout!.on('data', (d) => (log += d));
    proc.stderr!.on('data', (d) => (log += d));
    proc.on('exit', () => {
      if (child === proc) child = null;
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (await ping(port)) return;
      if (child !== proc) throw new Error(`redis-server exited at start:\n${log}`);
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server did not answer on port ${port} within 15 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
    child = null;
  };

  await start();
  return {
    port,
    get running() {
      return child !== null;
    },
    start,
    kill,
    stop: kill,
  };
}

/**
 * A TCP proxy on 127.0.0.1 in front of a Redis port, which the test controls: `cut()` drops
 * every connection through it and refuses new ones (a network partition between the
 * processes connected through it and Redis), `heal()` lets connections through again.
 */
export interface TcpProxy {
  readonly port: number;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let open = true;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = (): void => {
    open = false;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    cut,
    heal() {
      open = true;
    },
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Redis Cluster of 3 masters (no replicas), each a redis-server on 127.0.0.1 in its own temporary folder. */
export interface RedisCluster {
  readonly ports: number[];
  stop(): Promise<void>;
}

/**
 * Starts 3 redis-servers with `cluster-enabled yes` and joins them with
 * `redis-cli --cluster create`; waits until every node reports `cluster_state:ok`. Rejects
 * (after stopping what it started) when that cannot be done here.
 */
export async function startRedisCluster(): Promise<RedisCluster> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'cb-cluster-'));
  const ports: number[] = [];
  const procs: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      // Distinct ports whose cluster bus ports (+10000) are free too.
      let port = await freePort();
      while (port > 55_000 || ports.includes(port)) port = await freePort();
      ports.push(port);
      const proc = spawn(
        BINARY,
        [
          '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
          '--loglevel', 'warning', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', '2000', '--dir', dir,
        ],
        { stdio: 'ignore' },
      );
      procs.push(proc);
    }
    const deadline = Date.now() + 15_000;
    for (const port of ports) {
      while (!(await ping(port))) {
        if (Date.now() > deadline) throw new Error(`cluster node on ${port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const cli = process.env.REDIS_CLI ?? 'redis-cli';
    const create = spawnSync(cli, ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout || create.error}`);
    for (const port of ports) {
      for (;;) {
        const info = spawnSync(cli, ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' });
        if (/cluster_state:ok/.test(info.stdout)) break;
        if (Date.now() > deadline + 15_000) throw new Error(`cluster node on ${port} not ok:\n${info.stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
