/**
 * The manual controls: open, close or reset one executor's circuit. A request must be a POST
 * from the dashboard's own origin, carry the token the page was given (which a page on another
 * site cannot read), and pass the app's `authorize(req)`; anything else gets a 403 and
 * changes nothing.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { DashboardSource } from './monitor.js';

/** Turns the manual controls on. */
export interface DashboardControls {
  /**
   * Whether this request may see and use the controls: called for the page (buttons are shown
   * only when it allows) and again for every control request. Only `true` (or a promise of
   * it) allows; anything else, or a throw, refuses.
   */
  authorize(req: IncomingMessage): boolean | Promise<boolean>;
}

/** One control request, allowed or refused, as the dashboard's `'action'` event reports it. */
export interface DashboardAction {
  /** What was asked for (as sent, when it is not one of the three). */
  action: 'open' | 'close' | 'reset' | string;
  /** The executor it was asked for ('' when none was named). */
  executorName: string;
  /** Whether it was carried out. */
  allowed: boolean;
  /** The HTTP status answered: 200 when carried out, else 400, 403 or 404. */
  status: number;
  /** Why it was refused; null when carried out. */
  reason: string | null;
  /** The requesting socket's address. */
  remoteAddress: string | null;
  /** When it was asked. */
  time: Date;
}

const ACTIONS = ['open', 'close', 'reset'] as const;

/** A fresh random token for one dashboard. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Whether the request comes from a page of the same origin as the request itself. */
function sameOrigin(req: IncomingMessage): boolean {
  const fetchSite = req.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin') return false;
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (typeof origin !== 'string' || typeof host !== 'string') return false;
  try {
    // The scheme may differ behind a proxy that ends TLS; the host may not.
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

function tokenMatches(req: IncomingMessage, token: string): boolean {
  const given = req.headers['x-dashboard-token'];
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Context {
  breakers: DashboardSource;
  token: string;
  allowed(req: IncomingMessage): Promise<boolean>;
}

/** Checks and carries out one control request (already known to be a POST). */
export async function control(
  req: IncomingMessage,
  { breakers, token, allowed }: Context,
): Promise<{ status: number; body: object; action: DashboardAction }> {
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const action = query.get('action') ?? '';
  const executorName = query.get('executor') ?? '';
  const answer = (status: number, reason: string | null) => ({
    status,
    body: reason === null ? { ok: true, action, executor: executorName } : { ok: false, error: reason },
    action: {
      action,
      executorName,
      allowed: reason === null,
      status,
      reason,
      remoteAddress: req.socket?.remoteAddress ?? null,
      time: new Date(),
    },
  });
  if (!sameOrigin(req)) return answer(403, 'not a same-origin request');
  if (!tokenMatches(req, token)) return answer(403, 'missing or wrong token');
  if (!(await allowed(req))) return answer(403, 'not authorized');
  if (!(ACTIONS as readonly string[]).includes(action)) {
    return answer(400, `unknown action ${JSON.stringify(action)} (actions: ${ACTIONS.join(', ')})`);
  }
  if (!breakers.getAllStats().has(executorName)) return answer(404, `no executor named ${JSON.stringify(executorName)}`);
  if (action === 'open') breakers.openCircuit!(executorName);
  else if (action === 'close') breakers.closeCircuit!(executorName);
  else breakers.reset!(executorName);
  return answer(200, null);
}
