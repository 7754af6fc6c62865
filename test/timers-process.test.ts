/**
 * A process using the package can exit at once: the built package (dist/, which `npm test`
 * builds before vitest starts) in a fresh `node`, in real time. The in-process side of the
 * same rules (timers left on the event loop, destroy()) is test/timers.test.ts.
 *
 * Source of truth: /work/shared/CONTRACT.md ("Time") and docs/decisions.md ("Lifetime").
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** Runs an ESM script in a fresh `node`; kills it if it is still alive after `killAfterMs`. */
function runNode(script: string, killAfterMs = 10_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, elapsedMs: performance.now() - started });
    });
  });
}

describe('a process using the package can exit at once (real time, child process)', () => {
  it('exits within ~2 s after calls, an OPEN circuit, a hanging call and destroy()', async () => {
    const exit = await runNode(`
      import * as circuitBreaker from ${JSON.stringify(DIST)};
      circuitBreaker.configure('svc', { failureThreshold: 2, resetTimeout: 60000, requestTimeout: 60000 });
      const ok = await circuitBreaker.execute('svc', async (signal) => 'fine');
      if (!ok.success) throw new Error('expected a success');
      // In flight and never settling: its 60 s deadline timer would hold the process.
      circuitBreaker.execute('svc', (signal) => new Promise(() => {}));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await circuitBreaker.execute('svc', () => { throw new Error('down'); });
      await circuitBreaker.execute('svc', () => { throw new Error('down'); });
      if (!circuitBreaker.isOpen('svc')) throw new Error('expected the circuit to be OPEN');
      circuitBreaker.destroy();
      console.log('destroyed');
    `);

    expect(exit.stderr).toBe('');
    expect(exit.signal).toBeNull(); // not killed
    expect(exit.code).toBe(0);
    expect(exit.stdout.trim()).toBe('destroyed');
    expect(exit.elapsedMs).toBeLessThan(2_000);
  });

  it('exits within ~2 s with a circuit left OPEN on its timer (no destroy): the timer is unref\'d', async () => {
    const exit = await runNode(`
      import * as circuitBreaker from ${JSON.stringify(DIST)};
      circuitBreaker.configure('svc', { failureThreshold: 1, resetTimeout: 60000 });
      await circuitBreaker.execute('svc', () => { throw new Error('down'); });
      if (!circuitBreaker.isOpen('svc')) throw new Error('expected the circuit to be OPEN');
      console.log('open', circuitBreaker.getStats('svc').nextAttemptTime !== null);
    `);

    expect(exit.stderr).toBe('');
    expect(exit.signal).toBeNull();
    expect(exit.code).toBe(0);
    expect(exit.stdout.trim()).toBe('open true');
    expect(exit.elapsedMs).toBeLessThan(2_000);
  });
});
