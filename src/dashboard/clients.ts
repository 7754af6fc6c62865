/**
 * The open pages, each a Server-Sent Events response. Bounded in number, and a client that
 * reads too slowly never makes the server hold more than a little for it: while its socket
 * is backed up it misses updates (and gets a whole snapshot once it drains); past
 * `maxBuffer` bytes waiting it is dropped.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bytes a client may leave unread before it is disconnected. */
const MAX_BUFFER = 1024 * 1024;

interface Client {
  res: ServerResponse;
  /** Missed an update: the next one it gets must be a whole snapshot. */
  stale: boolean;
}

export class Clients {
  readonly #clients = new Set<Client>();
  readonly max: number;
  /** Called when the last client leaves. */
  onEmpty: (() => void) | null = null;

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.#clients.size;
  }

  get full(): boolean {
    return this.#clients.size >= this.max;
  }

  /** Turns `res` into an event stream; `first` is the whole snapshot it starts with. */
  add(req: IncomingMessage, res: ServerResponse, first: string): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Proxies (nginx) would otherwise hold the stream back.
      'x-accel-buffering': 'no',
    });
    // Updates are small and must not wait for Nagle.
    req.socket.setNoDelay?.(true);
    const client: Client = { res, stale: false };
    this.#clients.add(client);
    const leave = (): void => {
      if (!this.#clients.delete(client)) return;
      if (this.#clients.size === 0) this.onEmpty?.();
    };
    res.on('close', leave);
    res.on('error', leave);
    res.write(`retry: 2000\nevent: snapshot\ndata: ${first}\n\n`);
  }

  /** Sends an update: `delta()` to clients that are up to date, `whole()` to the others (each made at most once). */
  send(delta: () => string, whole: () => string): void {
    let d: string | null = null;
    let w: string | null = null;
    for (const client of this.#clients) {
      const { res } = client;
      if (res.writableLength > MAX_BUFFER) {
        res.destroy();
        continue;
      }
      if (res.writableNeedDrain) {
        client.stale = true;
        continue;
      }
      if (client.stale) {
        client.stale = false;
        res.write(`event: snapshot\ndata: ${(w ??= whole())}\n\n`);
      } else {
        res.write(`event: update\ndata: ${(d ??= delta())}\n\n`);
      }
    }
  }

  /** Ends every stream. */
  close(): void {
    for (const client of [...this.#clients]) client.res.end();
    this.#clients.clear();
  }
}
