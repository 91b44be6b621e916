// The layer rule of eslint.config.js: a folder of src/ imports only from the folders below it
// (runtime ← api ← clients ← children ← builders ← controller ← the top-level modules).
import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: new URL('../../../', import.meta.url).pathname });

async function refusedImports(filePath: string, imports: string[]): Promise<number[]> {
  const code = imports
    .map((from, i) => `import { x${i} } from '${from}';\nexport const y${i} = x${i};`)
    .join('\n');
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports')
    .map((m) => (m.line + 1) / 2);
}

describe('eslint layer rule', () => {
  it.each([
    ['src/runtime/x.ts', '../controller/reconciler.js'],
    ['src/runtime/x.ts', '../api/v1alpha1/conditions.js'],
    ['src/api/v1alpha1/x.ts', '../../clients/ecr.js'],
    ['src/clients/x.ts', '../builders/builder.js'],
    ['src/children/x.ts', '../builders/builder.js'],
    ['src/builders/x.ts', '../controller/render/testJob.js'],
    ['src/controller/x.ts', '../operator.js'],
    ['src/controller/steps/x.ts', '../../metrics.js'],
  ])('refuses %s importing %s', async (file, from) => {
    expect(await refusedImports(file, [from])).toEqual([1]);
  });

  it.each([
    ['src/runtime/x.ts', ['./backoff.js']],
    ['src/api/v1alpha1/x.ts', ['./pipeline.js', '../../runtime/duration.js']],
    ['src/clients/x.ts', ['../runtime/errors.js', '../api/v1alpha1/pipeline.js']],
    ['src/builders/x.ts', ['../children/names.js', '../clients/ecr.js', '../runtime/jobs.js']],
    [
      'src/controller/steps/x.ts',
      ['../context.js', '../../builders/builder.js', '../../children/template.js'],
    ],
    ['src/operator.ts', ['./controller/reconciler.js', './runtime/controller.js']],
  ])('lets %s import %j', async (file, from) => {
    expect(await refusedImports(file, from)).toEqual([]);
  });
});
