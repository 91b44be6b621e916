// Fails when the modules under a folder (default src/), or its top folders, import each other in
// a cycle; run by `npm test` (npm run check:cycles).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGraph, describeCycle, findCycles, folderGraph } from './importGraph.js';

const root = process.argv[2] ?? 'src';
const files = new Map<string, string>();
for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
  if (entry.isFile() && entry.name.endsWith('.ts')) {
    const path = join(entry.parentPath, entry.name);
    files.set(path, readFileSync(path, 'utf8'));
  }
}
const modules = buildGraph(files);
const cycles = [
  ...findCycles(modules).map((c) => `modules: ${describeCycle(c, root)}`),
  ...findCycles(folderGraph(modules, root)).map((c) => `folders: ${c.join(' → ')}`),
];
if (cycles.length > 0) {
  process.stderr.write(`Import cycles in ${root}/:\n${cycles.map((c) => `  ${c}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`No import cycles among the ${files.size} modules and their folders in ${root}/\n`);
