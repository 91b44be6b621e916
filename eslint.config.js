import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layers of src/, lowest first: a folder may import only from itself and the folders before
// it, so nothing below the controller ever learns about pipelines or models. The top-level
// modules (operator.ts, main.ts, config.ts, metrics.ts …) and tools/ may import anything.
export const LAYERS = ['runtime', 'webhooks', 'api', 'clients', 'children', 'builders', 'controller'];

// Relative imports are all a file can use to reach another folder, so "goes up `depth` folders
// and then into anything but an allowed layer" is the whole rule for files `depth` folders deep.
function layerRule(layer, depth) {
  const allowed = LAYERS.slice(0, LAYERS.indexOf(layer) + 1);
  return {
    files: [`src/${layer}/${'*/'.repeat(depth - 1)}*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^${'\\.\\./'.repeat(depth)}(?!(${allowed.join('|')})/)`,
              message: `src/${layer} may import only from ${allowed.join(', ')}: layers import one way (docs/architecture.md)`,
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', 'charts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  { files: ['src/**'], rules: { '@typescript-eslint/no-non-null-assertion': 'error' } },
  ...LAYERS.flatMap((layer) => [layerRule(layer, 1), layerRule(layer, 2)]),
  { files: ['test/**', 'scripts/**', '*.js'], rules: { 'no-console': 'off' } },
);
