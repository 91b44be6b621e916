// The import-cycle check of `npm test`: the graph it reads and the cycles it reports.
import { describe, expect, it } from '@jest/globals';
import { buildGraph, findCycles, folderGraph, importsOf } from '../../../src/tools/importGraph.js';

describe('importsOf', () => {
  it('reads relative imports, type-only and re-exports included, as .ts paths', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "export { c } from './c.js';",
      "import { readFileSync } from 'node:fs';",
      "import pino from 'pino';",
    ].join('\n');
    expect(importsOf('src/x/x.ts', text)).toEqual(['src/x/a.ts', 'src/b/b.ts', 'src/x/c.ts']);
  });
});

describe('findCycles', () => {
  const files = (entries: Record<string, string[]>) =>
    new Map(
      Object.entries(entries).map(([file, imports]) => [
        file,
        imports.map((i) => `import { x } from '${i}';`).join('\n'),
      ]),
    );

  it('finds none in a tree that imports one way', () => {
    const graph = buildGraph(files({ 'src/a.ts': ['./b.js'], 'src/b.ts': ['./c.js'], 'src/c.ts': [] }));
    expect(findCycles(graph)).toEqual([]);
  });

  it('finds a cycle between modules', () => {
    const graph = buildGraph(
      files({ 'src/a.ts': ['./b.js'], 'src/b.ts': ['./c.js'], 'src/c.ts': ['./a.js'] }),
    );
    expect(findCycles(graph)).toEqual([['src/a.ts', 'src/b.ts', 'src/c.ts', 'src/a.ts']]);
  });

  it('finds a cycle between folders that no two modules form (the old builders ↔ controller)', () => {
    const graph = buildGraph(
      files({
        'src/builders/kaniko.ts': ['../controller/render/buildJob.js'],
        'src/builders/builder.ts': [],
        'src/controller/render/buildJob.ts': ['../../builders/builder.js'],
        'src/operator.ts': ['./builders/kaniko.js'],
      }),
    );
    expect(findCycles(graph)).toEqual([]);
    expect(findCycles(folderGraph(graph, 'src'))).toEqual([['builders', 'controller', 'builders']]);
  });
});
