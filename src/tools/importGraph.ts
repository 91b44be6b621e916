// The module graph of a source tree and its cycles, between modules and between the top folders
// (the layers). A cycle is a layering fault even where ESM tolerates it (half-initialised
// bindings at start-up, folders that can no longer be read or tested alone), so `npm test`
// refuses any.
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** module path → the modules it imports (relative imports only, `.js` specifiers mapped to `.ts`). */
export type ImportGraph = Map<string, string[]>;

/** The relative imports of one TypeScript file, type-only ones included. */
export function importsOf(file: string, text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => join(dirname(file), spec.replace(/\.js$/, '.ts')));
}

export function buildGraph(files: ReadonlyMap<string, string>): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const [file, text] of files)
    graph.set(
      file,
      importsOf(file, text).filter((f) => files.has(f)),
    );
  return graph;
}

/** Every elementary cycle reachable by depth-first search, each once, as a path that starts and
 * ends at the same module. Enough to name the offending imports; not an exhaustive enumeration. */
export function findCycles(graph: ImportGraph): string[][] {
  const cycles: string[][] = [];
  const seen = new Set<string>();
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (node: string) => {
    seen.add(node);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!seen.has(next)) visit(next);
      else if (!done.has(next)) cycles.push([...stack.slice(stack.indexOf(next)), next]);
    }
    stack.pop();
    done.add(node);
  };
  for (const node of [...graph.keys()].sort()) if (!seen.has(node)) visit(node);
  return cycles;
}

/** The graph of the top folders under `root` (files directly in `root` count as one folder, "."). */
export function folderGraph(graph: ImportGraph, root: string): ImportGraph {
  const folderOf = (file: string) => {
    const parts = relative(resolve(root), resolve(file)).split(sep);
    return parts.length > 1 ? (parts[0] as string) : '.';
  };
  const folders: ImportGraph = new Map();
  for (const [file, imports] of graph) {
    const from = folderOf(file);
    const to = new Set([...(folders.get(from) ?? []), ...imports.map(folderOf)]);
    to.delete(from);
    folders.set(from, [...to].sort());
  }
  return folders;
}

export const describeCycle = (cycle: string[], root: string): string =>
  cycle.map((f) => relative(resolve(root), resolve(f))).join(' → ');
