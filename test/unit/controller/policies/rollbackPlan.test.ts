// planRollback: whether a failed run is rolled back, and what the condition says when it is not.
import { describe, expect, it } from '@jest/globals';
import { planRollback, type RollbackInput } from '../../../../src/controller/policies/rollbackPlan.js';

const stable = { version: '2', image: 'repo@sha256:a', env: { MODEL_VERSION: '2' }, since: 't' };
const input = (extra: Partial<RollbackInput> = {}): RollbackInput => ({
  enabled: true,
  touchedContainer: true,
  stable,
  failedVersion: '3',
  deployment: 'api',
  ...extra,
});

describe('planRollback', () => {
  it('rolls a run that changed the container back to the stable version', () => {
    expect(planRollback(input())).toEqual({ kind: 'rollBack', to: stable });
  });

  it('leaves a run that never touched the container (a failed build) without a note', () => {
    expect(planRollback(input({ touchedContainer: false }))).toEqual({ kind: 'leave' });
  });

  it.each([
    [
      'turned off',
      { enabled: false },
      'spec.rollback.onFailure is false: Deployment "api" is left on version 3',
    ],
    [
      'a first deployment',
      { stable: undefined },
      'nothing to roll back to, as no version deployed by this ModelDeployment passed its run before: Deployment "api" is left on version 3',
    ],
  ] as [string, Partial<RollbackInput>, string][])(
    '%s: left, and the note says why',
    (_name, extra, note) => {
      expect(planRollback(input(extra))).toEqual({ kind: 'leave', note });
    },
  );
});
