/**
 * Type-checks the user guide's snippets (test/types/doc-snippets.ts) against the built
 * declarations, reached the way a user reaches them: `import ... from
 * 'executor-circuit-breaker'`, resolved through package.json `exports` to dist/index.d.ts
 * (and dist/index.d.cts for `require`). Runs tsc twice: with NodeNext resolution and with
 * bundler resolution. Needs dist/ (npm run build).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = join(root, 'node_modules', '.bin', 'tsc');

/** Runs tsc with `args`; returns its exit code and everything it printed. */
function runTsc(args: string[]): { code: number; output: string } {
  try {
    const output = execFileSync(tsc, args, { cwd: root, encoding: 'utf8', stdio: 'pipe', timeout: 90_000 });
    return { code: 0, output };
  } catch (error) {
    const e = error as { status?: number | null; stdout?: string; stderr?: string; message: string };
    return { code: e.status ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

/** The declaration files the configurations resolve to. dist/ may be briefly missing during a rebuild. */
async function waitForDist(): Promise<void> {
  const files = ['index.d.ts', 'index.d.cts'].map((f) => join(root, 'dist', f));
  for (let waited = 0; waited < 15_000 && !files.every((f) => existsSync(f)); waited += 250) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (!files.every((f) => existsSync(f))) throw new Error('dist/ is not built: run `npm run build` first');
}

describe.each([
  ['NodeNext', 'test/types/tsconfig.json', ['dist/index.d.ts', 'dist/index.d.cts', 'test/types/cjs-snippets.cts']],
  ['bundler', 'test/types/tsconfig.bundler.json', ['dist/index.d.ts']],
])('the guide\'s snippets type-check (moduleResolution %s)', (_name, project, resolved) => {
  beforeAll(waitForDist, 20_000);

  it('resolves the package through its exports to the built declarations', () => {
    const { code, output } = runTsc(['-p', project, '--listFilesOnly']);
    expect(code, output).toBe(0);
    const files = output.split('\n').map((line) => line.trim().replaceAll('\\', '/'));
    for (const file of [...resolved, 'test/types/doc-snippets.ts', 'test/types/readme-snippets.ts']) {
      expect(files.some((f) => f.endsWith(`/${file}`)), `${file} is not among the files of ${project}`).toBe(true);
    }
    // (Dependencies' own folders may be called src: @notionhq/client's declarations are in build/src/.)
    const ours = files.filter((f) => !f.includes('/node_modules/'));
    expect(ours.some((f) => f.includes('/src/')), 'the sources must not be type-checked, only dist').toBe(false);
  }, 60_000);

  it('compiles without errors (every @ts-expect-error is used)', () => {
    const { code, output } = runTsc(['-p', project]);
    if (code !== 0) console.error(`tsc -p ${project} failed:\n${output}`);
    expect(code, output).toBe(0);
  }, 60_000);
});

describe("the README's TypeScript", () => {
  it('is in test/types/readme-snippets.ts word for word, so the compile above checks what users paste', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const snippets = readFileSync(join(root, 'test/types/readme-snippets.ts'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(0);
    // Indentation may differ where a block is wrapped in braces to keep its names apart.
    const flat = (text: string) => text.split('\n').map((line) => line.trim()).join('\n');
    for (const block of blocks) expect(flat(snippets)).toContain(flat(block).trim());
  });
});
