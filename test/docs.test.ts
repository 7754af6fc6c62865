/**
 * What a newcomer reads first, checked against what the package does: the README's promise
 * on when `execute` rejects, and the guide's snippets that a strict TypeScript app pastes
 * (test/types.test.ts compiles test/types/doc-snippets.ts under `strict`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, type CircuitBreakerRegistry } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const guide = readFileSync(join(root, 'docs/guide.md'), 'utf8');
const snippets = readFileSync(join(root, 'test/types/doc-snippets.ts'), 'utf8');

/** The fenced TypeScript blocks of a markdown text. */
const blocks = (markdown: string) => [...markdown.matchAll(/```(?:typescript|ts)\n([\s\S]*?)```/g)].map((m) => m[1]!);
/** The prose of a markdown text (no code), one sentence per entry. */
const sentences = (markdown: string) =>
  markdown
    .replace(/```[\s\S]*?```/g, '')
    .replace(/\s+/g, ' ')
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 30);

describe('the README', () => {
  let reg: CircuitBreakerRegistry;
  afterEach(() => reg?.destroy());

  it('says execute rejects for a bad name, a fn that is not a function, or bad options; each does, and changes nothing', async () => {
    const promise = sentences(readme).find((s) => s.startsWith('It rejects'));
    expect(promise).toBe(
      'It rejects, with a `TypeError`, only for a programmer error: a bad name, a `fn` that is not a function, or bad options.',
    );
    reg = createRegistry();
    const fn = async () => 'ok';
    await expect(reg.execute('', fn)).rejects.toThrow(TypeError);
    await expect(reg.execute('svc', 'not a function' as never)).rejects.toThrow(TypeError);
    await expect(reg.execute('svc', fn, { timeOut: 5 } as never)).rejects.toThrow(TypeError);
    await expect(reg.execute('svc', fn, { cacheKey: 7 } as never)).rejects.toThrow(TypeError);
    expect(reg.getExecutors()).toEqual([]);
  });

  it('says nothing twice', () => {
    const all = sentences(readme);
    expect(all.filter((s, i) => all.indexOf(s) !== i)).toEqual([]);
  });
});

describe("the guide's snippets", () => {
  it('every block that calls retry imports it', () => {
    const missing = blocks(guide).filter((b) => /\bretry\.\w/.test(b) && !/import \* as retry from /.test(b));
    expect(missing.map((b) => b.split('\n').slice(0, 3).join('\n'))).toEqual([]);
  });

  it("the off() example is word for word in the strictly compiled snippets, its listener's parameters typed", () => {
    const start = guide.indexOf('#### `off<E>');
    const off = blocks(guide.slice(start))[0]!;
    expect(off).toMatch(/const listener = \(executorName: string, stats: circuitBreaker\.CircuitBreakerStats\) =>/);
    const flat = (text: string) => text.split('\n').map((line) => line.trim()).join('\n');
    expect(flat(snippets)).toContain(flat(off).trim());
  });
});
