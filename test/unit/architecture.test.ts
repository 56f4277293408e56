import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DependencyTree, parseCircular, parseDependencyTree } from 'dpdm';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The layering of docs/ARCHITECTURE.md, checked on the real import graph (dpdm resolves every
 * static import, type-only ones included, through tsconfig.json).
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE_DIRS = ['src', 'recorder', 'replayer', 'gdbstub', 'traces'];

/** The composition layer: the only part of src/ that may reach the upper folders. */
const COMPOSITION = ['src/cli/'];
/** Folders above the emulator, which src/ (outside the composition layer) must not import. */
const UPPER = ['recorder/', 'replayer/', 'gdbstub/', 'traces/'];
/** Lower layers and what they must not import (each one only looks down). */
const LAYERS: Record<string, string[]> = {
  'src/shm/': ['src/engine/', 'src/host/', 'src/cli/', 'src/jit/', 'src/exec/'],
  // The instruction table holds each op's semantics for both tiers: it may use the hart and bus
  // types and the wasm encoder (jit/wasm-emitter.ts), but not the tiers that drive it.
  'src/isa/': ['src/engine/', 'src/host/', 'src/cli/', 'src/exec/', 'src/jit/codegen', 'src/jit/jit-executor', 'src/jit/tier'],
  'src/cpu/': ['src/engine/', 'src/host/', 'src/cli/', 'src/jit/', 'src/exec/'],
  'src/machine/': ['src/engine/', 'src/host/', 'src/cli/', 'src/jit/', 'src/exec/'],
  'src/exec/': ['src/engine/', 'src/host/', 'src/cli/'],
  'src/jit/': ['src/engine/', 'src/host/', 'src/cli/'],
  'src/engine/': ['src/host/', 'src/cli/'],
  'src/host/': ['src/cli/'],
  // The trace format is the shared vocabulary; recording and replay meet only through it.
  'traces/': ['recorder/', 'replayer/', 'gdbstub/', 'src/host/', 'src/cli/'],
  'recorder/': ['replayer/', 'gdbstub/', 'src/cli/'],
  'replayer/': ['recorder/', 'gdbstub/', 'src/cli/'],
  'gdbstub/': ['recorder/', 'src/cli/'],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every import edge between the project's own files: [importer, imported], paths from the root. */
export function importEdges(tree: DependencyTree): [string, string][] {
  const edges: [string, string][] = [];
  for (const [file, deps] of Object.entries(tree)) {
    for (const d of deps ?? []) if (d.id && !d.id.includes('node_modules')) edges.push([file, d.id]);
  }
  return edges;
}

/** Edges that break the layering rules above. */
export function layeringViolations(edges: [string, string][]): string[] {
  const bad: string[] = [];
  for (const [from, to] of edges) {
    if (from.startsWith('src/') && !COMPOSITION.some((c) => from.startsWith(c)) && UPPER.some((u) => to.startsWith(u))) bad.push(`${from} -> ${to}`);
    for (const [layer, forbidden] of Object.entries(LAYERS)) {
      if (from.startsWith(layer) && forbidden.some((f) => to.startsWith(f))) bad.push(`${from} -> ${to}`);
    }
  }
  return bad;
}

describe('architecture', () => {
  let tree: DependencyTree;
  beforeAll(async () => {
    const files = SOURCE_DIRS.flatMap(sourceFiles);
    tree = await parseDependencyTree(files, { context: ROOT, cwd: ROOT, transform: false, tsconfig: join(ROOT, 'tsconfig.json'), skipDynamicImports: false });
  }, 120_000);

  it('resolves every import of the project (the graph is complete)', () => {
    const unresolved = Object.entries(tree).flatMap(([file, deps]) => (deps ?? []).filter((d) => d.id === null).map((d) => `${file}: ${d.request}`));
    expect(unresolved).toEqual([]);
    expect(Object.keys(tree).length).toBeGreaterThan(80);
  });

  it('src/ outside the composition layer (src/cli) imports nothing from recorder/, replayer/, gdbstub/ or traces/, and each layer looks only down', () => {
    expect(layeringViolations(importEdges(tree))).toEqual([]);
  });

  it('the import graph has no cycle', () => {
    expect(parseCircular(tree).map((c) => c.map((f) => relative(ROOT, join(ROOT, f))).join(' -> '))).toEqual([]);
  });

  it('the checks catch a violation and a cycle (so they can fail)', () => {
    const fake: DependencyTree = {
      'src/engine/a.ts': [{ issuer: 'src/engine/a.ts', request: '../../recorder/b.js', kind: 0 as never, id: 'recorder/b.ts' }],
      'recorder/b.ts': [{ issuer: 'recorder/b.ts', request: '../src/engine/a.js', kind: 0 as never, id: 'src/engine/a.ts' }],
      'src/shm/c.ts': [{ issuer: 'src/shm/c.ts', request: '../engine/a.js', kind: 0 as never, id: 'src/engine/a.ts' }],
    };
    expect(layeringViolations(importEdges(fake))).toEqual(['src/engine/a.ts -> recorder/b.ts', 'src/shm/c.ts -> src/engine/a.ts']);
    expect(parseCircular(fake).length).toBe(1);
  });
});
