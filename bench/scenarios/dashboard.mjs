// Scenario 1c: the success path with the live dashboard attached, without and with a page open.
import http from 'node:http';

export const title = '1c. success path with the live dashboard (executor-circuit-breaker/dashboard)';
export const note =
  'fn = async () => 1, default configuration, each contender on a registry of its own. "No page open": ' +
  'a dashboard attached to the registry, nobody watching (it then listens to state changes only). ' +
  '"One page open": an event stream connected from this process over 127.0.0.1, so the per-call ' +
  'listeners and the 1 s update timer run (their cost is in the figure).';

export async function setup({ ours }) {
  const { createDashboard } = await import('executor-circuit-breaker/dashboard');
  const fn = async () => 1;
  const plain = ours.createRegistry();
  const idle = ours.createRegistry();
  const watched = ours.createRegistry();
  const idleBoard = createDashboard({ breakers: idle });
  const watchedBoard = createDashboard({ breakers: watched });
  const server = http.createServer(watchedBoard);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // The page: an event stream, read and thrown away.
  let received = 0;
  const page = await new Promise((resolve, reject) => {
    const req = http.get(`http://127.0.0.1:${server.address().port}/events`, (res) => {
      res.on('data', (chunk) => (received += chunk.length));
      resolve(req);
    });
    req.on('error', reject);
  });
  const name = 'bench-dashboard';
  const contenders = [
    { id: 'bare', label: 'bare await fn()', kind: 'baseline', op: fn },
    { id: 'none', label: 'ours, no dashboard', kind: 'ours', op: () => plain.execute(name, fn) },
    { id: 'idle', label: 'ours, dashboard attached, no page open', kind: 'ours', op: () => idle.execute(name, fn) },
    { id: 'watched', label: 'ours, dashboard with one page open', kind: 'ours', op: () => watched.execute(name, fn) },
  ];
  return {
    contenders,
    check() {
      if (idleBoard.snapshot().measuring) return 'the dashboard with no page open is measuring';
      if (!watchedBoard.snapshot().measuring || received === 0) return 'the page is not connected';
      return null;
    },
    teardown() {
      page.destroy();
      idleBoard.close();
      watchedBoard.close();
      server.closeAllConnections();
      server.close();
      for (const reg of [plain, idle, watched]) reg.destroy();
    },
  };
}
