// decideRun: one row per case of "does the resolved version need a run, and which?".
import { describe, expect, it } from '@jest/globals';
import type { Run } from '../../../../src/api/v1alpha1/pipeline.js';
import { decideRun, type RunDecision, type RunInput } from '../../../../src/controller/policies/decideRun.js';

const run = (extra: Partial<Run> = {}): Run => ({
  version: '3',
  specHash: 'h1',
  startedAt: '2025-01-01T00:00:00.000Z',
  ...extra,
});
const input = (extra: Partial<RunInput> = {}): RunInput => ({
  run: run(),
  version: '3',
  specHash: 'h1',
  retryToken: undefined,
  ...extra,
});

describe('decideRun', () => {
  const inProgress = run();
  const failed = run({ result: 'Failed', reason: 'BuildFailed', retryToken: 'a' });
  const table: [string, RunInput, RunDecision][] = [
    ['no run yet: start', input({ run: undefined }), { kind: 'start', retry: false }],
    [
      'same version and spec, succeeded: deployed',
      input({ run: run({ result: 'Succeeded' }) }),
      { kind: 'deployed' },
    ],
    [
      'succeeded, a retry asked for: still deployed (retries only apply to failures)',
      input({ run: run({ result: 'Succeeded' }), retryToken: 'b' }),
      { kind: 'deployed' },
    ],
    [
      'same version and spec, in progress: carry on',
      input({ run: inProgress }),
      { kind: 'inProgress', run: inProgress },
    ],
    ['failed, no retry token: failed before', input({ run: failed }), { kind: 'failedBefore', run: failed }],
    [
      'rolled back: remembered like a failure',
      input({ run: run({ result: 'RolledBack', reason: 'TestsFailed' }) }),
      { kind: 'failedBefore', run: run({ result: 'RolledBack', reason: 'TestsFailed' }) },
    ],
    [
      'rolled back, a new retry token: start again',
      input({ run: run({ result: 'RolledBack' }), retryToken: 'b' }),
      { kind: 'start', retry: true },
    ],
    [
      'rolling back (in progress): carry on with the rollback',
      input({ run: run({ rollback: { toVersion: '2', startedAt: 't' } }) }),
      { kind: 'inProgress', run: run({ rollback: { toVersion: '2', startedAt: 't' } }) },
    ],
    [
      'failed, the retry token it answered: failed before',
      input({ run: failed, retryToken: 'a' }),
      { kind: 'failedBefore', run: failed },
    ],
    [
      'failed, a new retry token: start again',
      input({ run: failed, retryToken: 'b' }),
      { kind: 'start', retry: true },
    ],
    ['a new version: start', input({ version: '4' }), { kind: 'start', retry: false }],
    [
      'a new version after a failure: start',
      input({ run: failed, version: '4' }),
      { kind: 'start', retry: false },
    ],
    ['a spec change: start', input({ specHash: 'h2' }), { kind: 'start', retry: false }],
    [
      'a spec change with a retry token: a new run, not a retry',
      input({ run: failed, specHash: 'h2', retryToken: 'b' }),
      { kind: 'start', retry: false },
    ],
    [
      'a superseded run of the same target: start',
      input({ run: run({ result: 'Superseded' }) }),
      { kind: 'start', retry: false },
    ],
  ];
  it.each(table)('%s', (_name, given, expected) => {
    expect(decideRun(given)).toEqual(expected);
  });
});
