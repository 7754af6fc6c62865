/**
 * The dashboard page in a real headless Chromium (Debian's `chromium` package, which
 * .ci/run installs; another one through CHROMIUM=/path), driven by playwright-core. Without
 * a Chromium the suite says so and is skipped.
 *
 * Real timers: the page updates over a real event stream. The registries use short
 * `resetTimeout`s, and every wait has a short limit.
 *
 * The first test also takes the screenshot shown in the README; it rewrites
 * docs/dashboard.png only when UPDATE_SCREENSHOT=1 is set.
 */
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry, type CircuitBreakerRegistry } from '../src/index.js';
import { createDashboard, type Dashboard, type DashboardOptions } from '../src/dashboard/index.js';

// What the functions handed to the page use (this project type-checks without the DOM library).
declare const document: { querySelector(selector: string): { textContent: string | null; getAttribute(name: string): string | null } | null };
declare const window: object;
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const available = (() => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
})();
if (!available) {
  console.warn(`test/dashboard.browser.test.ts: skipped, no Chromium at ${CHROMIUM} (install Debian's chromium, or set CHROMIUM)`);
}

const SCREENSHOT = fileURLToPath(new URL('../docs/dashboard.png', import.meta.url));
const HOSTILE = '<img src=x onerror=alert(1)>';
const GREEN = 'rgb(22, 163, 74)';
const RED = 'rgb(220, 38, 38)';
const AMBER = 'rgb(217, 119, 6)';

let context: BrowserContext;
let profile: string;
const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(async () => {
  if (!available) return;
  profile = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 15_000,
  });
}, 20_000);

afterAll(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A registry and its dashboard, served on 127.0.0.1. */
async function start(options: Omit<DashboardOptions, 'breakers'> = {}, registryOptions = {}) {
  const reg: CircuitBreakerRegistry = createRegistry(registryOptions);
  const dashboard: Dashboard = createDashboard({ breakers: reg, interval: 200, ...options });
  const server = http.createServer(dashboard);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => reg.destroy());
  cleanups.push(async () => {
    dashboard.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { reg, dashboard, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** A new page that records console errors and every request it makes. */
async function open(url: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await context.newPage();
  cleanups.push(() => page.close());
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(url);
  return { page, errors, requests };
}

const card = (name: string) => `section.card[data-executor="${name.replace(/["\\]/g, '\\$&')}"]`;
const badgeColour = (page: Page, name: string) =>
  page.$eval(`${card(name)} .badge`, (e) => getComputedStyle(e).backgroundColor);
const boom = () => Promise.reject(new Error('HTTP 503'));

describe.skipIf(!available)('the dashboard in headless Chromium', () => {
  it('loads with no console error and no request leaving 127.0.0.1; a hostile name shows as text', async () => {
    // A clock moved by hand, shared by the registry and the dashboard: six minutes of an
    // outage told in a few seconds, for the screenshot.
    const clock = { t: Date.now() - 6 * 60_000, now: () => clock.t };
    const { reg, base } = await start({ clock, interval: 100 }, { clock, defaults: { failureThreshold: 3 } });
    reg.configure('notion', { resetTimeout: 30_000 });
    reg.configure('slack', { resetTimeout: 60_000, cacheFallback: false });
    reg.configure('gmail', { resetTimeout: 45_000 });
    reg.configure('drive', {});
    reg.configure(HOSTILE, {});
    const { page, errors, requests } = await open(base);
    await page.waitForSelector(card('drive'), { timeout: 2_000 });

    const call = (name: string, ms: number, fail = false) =>
      reg.execute(name, () => {
        clock.t += ms;
        if (fail) throw new Error(name === HOSTILE ? '<b>bold</b> & "quoted"' : 'HTTP 503 Service Unavailable');
        return 'ok';
      });
    for (let step = 0; step < 40; step++) {
      clock.t += 9_000;
      for (let i = 0; i < 6; i++) await call('notion', 30 + ((step * 7 + i * 13) % 90), (step + i) % 23 === 0);
      for (let i = 0; i < 3; i++) await call('slack', 80 + ((i * 37) % 60), step >= 18 && step !== 30);
      // gmail fails from step 28, then goes quiet while its circuit waits to probe.
      if (step < 35) for (let i = 0; i < 4; i++) await call('gmail', 120 + ((step * 11 + i * 29) % 200), step >= 28);
      for (let i = 0; i < 8; i++) await call('drive', 4 + ((step + i) % 9));
      await call(HOSTILE, 15, step === 12);
      if (step === 39) {
        // gmail is due to probe by now: the probe succeeds, one of the two it needs.
        expect(reg.getState('gmail')).toBe('HALF_OPEN');
        await call('gmail', 150);
      }
      await new Promise((resolve) => setTimeout(resolve, 110)); // one real update interval
    }
    await page.waitForFunction(
      () => document.querySelector('section.card[data-executor="gmail"]')?.getAttribute('data-state') === 'HALF_OPEN',
      undefined,
      { timeout: 2_000 },
    );
    await page.waitForTimeout(300);

    expect(errors).toEqual([]);
    expect(requests.length).toBeGreaterThanOrEqual(2);
    for (const url of requests) expect(new URL(url).hostname).toBe('127.0.0.1');
    // The name and the error are text: no element came of them, and they read as written.
    expect(await page.$$('img')).toHaveLength(0);
    expect(await page.$$('b')).toHaveLength(0);
    expect(await page.textContent(`${card(HOSTILE)} .name`)).toBe(HOSTILE);
    expect(await page.textContent(`${card(HOSTILE)} .error`)).toContain('<b>bold</b> & "quoted"');
    expect(await page.evaluate(() => (window as unknown as { alerted?: boolean }).alerted)).toBeUndefined();
    expect(await badgeColour(page, 'notion')).toBe(GREEN);
    expect(await badgeColour(page, 'slack')).toBe(RED);
    expect(await badgeColour(page, 'gmail')).toBe(AMBER);
    expect(await page.textContent(`${card('gmail')} .countdown`)).toBe('probing: 1 of 2 succeeded');
    expect(await page.textContent(`${card('slack')} .countdown`)).toMatch(/^next probe in \d+\.\d s$/);
    // The sparkline and the strip were drawn from the history.
    expect(await page.$$eval(`${card('notion')} .spark polyline`, (l) => l.length)).toBeGreaterThanOrEqual(2);
    expect(await page.$$eval(`${card('slack')} .strip rect`, (r) => r.map((e) => e.getAttribute('class')))).toEqual(
      expect.arrayContaining(['s-CLOSED', 's-OPEN', 's-HALF_OPEN']),
    );
    const shot = await page.screenshot({ fullPage: true });
    expect(shot.length).toBeGreaterThan(10_000);
    if (process.env.UPDATE_SCREENSHOT === '1') writeFileSync(SCREENSHOT, shot);
  }, 20_000);

  it('a circuit opened by failures turns red within a second; the countdown reaches half-open; amber, then green as probes succeed', async () => {
    const { reg, base } = await start({ interval: 1_000 }, { defaults: { failureThreshold: 2, resetTimeout: 1_200 } });
    reg.configure('notion', {});
    const { page, errors } = await open(base);
    await page.waitForSelector(`${card('notion')}[data-state="CLOSED"]`, { timeout: 2_000 });
    expect(await badgeColour(page, 'notion')).toBe(GREEN);

    await reg.execute('notion', boom);
    await reg.execute('notion', boom);
    const opened = Date.now();
    await page.waitForSelector(`${card('notion')}[data-state="OPEN"]`, { timeout: 1_000 });
    expect(Date.now() - opened).toBeLessThan(1_000);
    expect(await badgeColour(page, 'notion')).toBe(RED);
    expect(await page.textContent(`${card('notion')} .countdown`)).toMatch(/^next probe in (1\.[0-2]|0\.\d) s$/);

    await page.waitForSelector(`${card('notion')}[data-state="HALF_OPEN"]`, { timeout: 2_500 });
    expect(await badgeColour(page, 'notion')).toBe(AMBER);
    await reg.execute('notion', () => 'ok');
    await page.waitForFunction(
      () => document.querySelector('section.card[data-executor="notion"] .countdown')?.textContent === 'probing: 1 of 2 succeeded',
      undefined,
      { timeout: 1_000 },
    );
    await reg.execute('notion', () => 'ok');
    await page.waitForSelector(`${card('notion')}[data-state="CLOSED"]`, { timeout: 1_000 });
    expect(await badgeColour(page, 'notion')).toBe(GREEN);
    expect(errors).toEqual([]);
  }, 15_000);

  it('with controls, a click on reset closes a circuit; without authorize the POST gets 403', async () => {
    const { reg, base } = await start({ controls: { authorize: () => true } }, { defaults: { failureThreshold: 2 } });
    await reg.execute('slack', boom);
    await reg.execute('slack', boom);
    const { page, errors } = await open(base);
    await page.waitForSelector(`${card('slack')}[data-state="OPEN"]`, { timeout: 2_000 });
    await page.click(`${card('slack')} button[data-action="reset"]`);
    await page.waitForSelector(`${card('slack')}[data-state="CLOSED"]`, { timeout: 1_000 });
    expect(reg.getState('slack')).toBe('CLOSED');
    expect(await page.textContent('#log')).toBe('reset slack: done');
    await page.click(`${card('slack')} button[data-action="open"]`);
    await page.waitForSelector(`${card('slack')}[data-state="OPEN"]`, { timeout: 1_000 });
    expect(await page.textContent(`${card('slack')} .countdown`)).toBe('held open by hand');
    expect(errors).toEqual([]);

    // The same POST, from the page of a dashboard that has no authorize: refused.
    const other = await start({}, { defaults: { failureThreshold: 2 } });
    await other.reg.execute('slack', boom);
    await other.reg.execute('slack', boom);
    const plain = await open(other.base);
    await plain.page.waitForSelector(`${card('slack')}[data-state="OPEN"]`, { timeout: 2_000 });
    expect(await plain.page.$$('button')).toHaveLength(0);
    const status = await plain.page.evaluate(async () => {
      const r = await fetch('control?action=reset&executor=slack', { method: 'POST', headers: { 'x-dashboard-token': 'guess' } });
      return r.status;
    });
    expect(status).toBe(403);
    expect(other.reg.getState('slack')).toBe('OPEN');
  }, 15_000);
});
