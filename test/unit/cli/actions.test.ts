// approve and retry: which version approve writes, and what both tell the user afterwards.
import { describe, expect, it } from '@jest/globals';
import type { ModelDeployment } from '../../../src/api/v1alpha1/modelDeployment.js';
import { approvedText, retriedText, versionToApprove } from '../../../src/cli/actions.js';
import { awaitingApproval, fresh, resolveOnly, rolledBack } from './fixtures.js';

describe('versionToApprove', () => {
  const table: [string, ModelDeployment | undefined, string | undefined, object][] = [
    ['a version given is written as is', undefined, '7', { version: '7' }],
    ['given, even if another waits', awaitingApproval, '7', { version: '7' }],
    ['none given: the version the run waits for', awaitingApproval, undefined, { version: '4' }],
    [
      'none given, nothing waits',
      resolveOnly,
      undefined,
      { error: 'iris is not waiting for approval (phase Succeeded); give the version to approve' },
    ],
    [
      'none given, not reconciled yet',
      fresh,
      undefined,
      { error: 'iris is not waiting for approval (phase none yet); give the version to approve' },
    ],
  ];
  it.each(table)('%s', (_case, object, given, expected) =>
    expect(versionToApprove(object, 'iris', given)).toEqual(expected),
  );
});

describe('approvedText', () => {
  it('says what was set', () => {
    expect(approvedText(awaitingApproval, '4')).toBe(
      'modeldeployment/iris approved version 4 (mlops.healthpredict.io/approve=4)\n',
    );
  });
  it('warns when the run waits for another version', () => {
    expect(approvedText(awaitingApproval, '5')).toContain(
      'note: the run in progress waits for version 4; this approves only version 5',
    );
  });
  it('warns when the spec requires no approval', () => {
    expect(approvedText(resolveOnly, '3')).toBe(
      'modeldeployment/iris approved version 3 (mlops.healthpredict.io/approve=3)\n' +
        'note: spec.approval.required is not true: no run waits for approval\n',
    );
  });
});

describe('retriedText', () => {
  const token = '2025-03-01T12:00:00.000Z';
  it('after a rolled-back run: only what was set', () => {
    expect(retriedText(rolledBack, token)).toBe(
      `modeldeployment/iris retry requested (mlops.healthpredict.io/retry=${token})\n`,
    );
  });
  it('after a successful run: says that nothing will be retried', () => {
    expect(retriedText(resolveOnly, token)).toContain(
      'note: the run of version 3 ended Succeeded; a retry starts a new run only after a failed one',
    );
  });
  it('during a run', () => {
    expect(retriedText(awaitingApproval, token)).toContain('note: the run of version 4 is in progress;');
  });
});
