/**
 * The layers of docs/architecture.md, kept: every import under src/ (type-only ones included, static and
 * dynamic) points down the list below or stays in its folder, so no folder cycle can form; `node:` modules
 * are imported only where the design allows them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** Bottom to top: a file may import its own folder and the folders before it. errors.ts and rng.ts are leaves. */
const LAYERS = [
  'errors.ts',
  'rng.ts',
  'runtime',
  'io',
  'tokenizers',
  'data',
  'tensor',
  'nn',
  'generate',
  'models',
  'train',
  'recipes',
  'cli',
  'index.ts',
];

/** Files that may import `node:` modules: the runtime's loaders and workers, checkpoint files, corpora, recipes, CLI. */
const NODE_ALLOWED = [
  /^runtime\//,
  /^io\/(checkpoint|folder|hub-cache)\.ts$/,
  /^data\/(text|brown|spam|cmudict|packages)\.ts$/,
  /^recipes\//,
  /^cli\//,
];

const layerOf = (file: string): string => (file.includes('/') ? file.split('/')[0]! : file);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sourceFiles(join(dir, d.name)) : d.name.endsWith('.ts') ? [relative(src, join(dir, d.name))] : [],
  );
}

/** Every module specifier a file names: import/export … from '…', import('…'), import '…'. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(
    /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*(?:\/\*.*?\*\/\s*)?['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm,
  )) {
    out.push((m[1] ?? m[2] ?? m[3])!);
  }
  return out;
}

const files = sourceFiles(src);
const edges = files.flatMap((file) =>
  specifiers(readFileSync(join(src, file), 'utf8')).map((spec) => ({
    file,
    spec,
    target: spec.startsWith('.') ? normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts') : null,
  })),
);

describe('architecture (docs/architecture.md)', () => {
  it('reads the imports of every file under src/', () => {
    expect(files.length).toBeGreaterThan(80);
    expect(edges.filter((e) => e.target).length).toBeGreaterThan(300);
    for (const f of files) expect(LAYERS, `${f} is in no layer`).toContain(layerOf(f));
  });

  it('every import points down the layers or stays in its folder', () => {
    const rank = (f: string) => LAYERS.indexOf(layerOf(f));
    const upward = edges
      .filter((e) => e.target && layerOf(e.target) !== layerOf(e.file) && rank(e.target) > rank(e.file))
      .map((e) => `${e.file} → ${e.spec}`);
    expect(upward).toEqual([]);
  });

  it('no cycle between folders', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of edges) {
      if (!e.target || layerOf(e.target) === layerOf(e.file)) continue;
      graph.set(layerOf(e.file), (graph.get(layerOf(e.file)) ?? new Set()).add(layerOf(e.target)));
    }
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      if (path.includes(node)) return void cycles.push([...path.slice(path.indexOf(node)), node].join(' → '));
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });

  it('the library entry point exports no recipe and no command line', () => {
    const entry = edges.filter((e) => e.file === 'index.ts' && e.target).map((e) => layerOf(e.target!));
    expect(entry).not.toContain('recipes');
    expect(entry).not.toContain('cli');
  });

  it('node: modules only where the design allows them', () => {
    const misplaced = edges
      .filter((e) => e.spec.startsWith('node:') && !NODE_ALLOWED.some((r) => r.test(e.file)))
      .map((e) => `${e.file} → ${e.spec}`);
    expect(misplaced).toEqual([]);
    // the check sees dynamic imports too
    expect(edges.some((e) => e.file === 'runtime/pool.ts' && e.spec === 'node:worker_threads')).toBe(true);
  });
});
