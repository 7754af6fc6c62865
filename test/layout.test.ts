/**
 * The shape of src/ that the README's "Where things are" describes: no import circles, and
 * the optional entries (src/observability/, src/redis/, src/dashboard/) reach the core only
 * through its public surface, src/index.ts, which the build keeps as an import of the built core.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** Each source file (relative to src/) and the src/ files it imports, types included. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)].map((m) =>
      relative(SRC, resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))),
    );
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each as the files along it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const walk = (file: string, path: string[]): void => {
    const at = path.indexOf(file);
    if (at >= 0) {
      found.push([...path.slice(at), file]);
      return;
    }
    if (done.has(file)) return;
    for (const next of graph.get(file) ?? []) walk(next, [...path, file]);
    done.add(file);
  };
  for (const file of graph.keys()) walk(file, []);
  return found;
}

describe('src/ layout', () => {
  const graph = importGraph();

  it('finds the files it checks, and every import it reads points at a file that exists', () => {
    expect(graph.get('index.ts')).toContain('core/registry.ts');
    for (const [file, targets] of graph) {
      for (const target of targets) expect(graph.has(target), `${file} imports ${target}`).toBe(true);
    }
  });

  it('has no import circle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('the cycle finder sees a circle when there is one', () => {
    const circular = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    expect(cycles(circular)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('the core imports nothing from the optional entries, nor the public index; only its policies', () => {
    for (const [file, targets] of graph) {
      if (!file.startsWith('core/')) continue;
      expect(targets.filter((t) => !t.startsWith('core/') && !t.startsWith('policies/')), file).toEqual([]);
    }
  });

  it('the policies are part of the core: they import only core/ and policies/ files', () => {
    const policies = [...graph.keys()].filter((file) => file.startsWith('policies/'));
    expect(policies.length).toBeGreaterThan(0);
    for (const file of policies) {
      const targets = graph.get(file)!;
      expect(targets.filter((t) => !t.startsWith('core/') && !t.startsWith('policies/')), file).toEqual([]);
    }
  });

  it('each optional entry reaches the core only through src/index.ts, and no entry folder imports another', () => {
    for (const [file, targets] of graph) {
      const folder = file.split('/')[0]!;
      if (file === 'index.ts' || folder === 'core' || folder === 'policies') continue;
      for (const target of targets) {
        const ok = target === 'index.ts' || target.startsWith(`${folder}/`);
        expect(ok, `${file} imports ${target}`).toBe(true);
      }
    }
  });
});
