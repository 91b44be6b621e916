// runSteps: which steps a status shows, with what symbol, and how long each took, against a
// fixed "now".
import { describe, expect, it } from '@jest/globals';
import type { ModelDeploymentStatus } from '../../../src/api/v1alpha1/modelDeployment.js';
import { runSteps, stepState, type StepState } from '../../../src/cli/steps.js';
import { awaitingApproval, before, condition, NOW, resolveOnly, rolledBack } from './fixtures.js';

const MIN = 60_000;
/** [step, state, reason, duration in minutes or undefined] of each step shown. */
const brief = (status: ModelDeploymentStatus | undefined) =>
  runSteps(status, NOW).map((s) => [
    s.step,
    s.state,
    s.reason,
    s.durationMs === undefined ? undefined : s.durationMs / MIN,
  ]);

describe('stepState', () => {
  const table: [string, 'True' | 'False' | 'Unknown', string, StepState][] = [
    ['True is done', 'True', 'Built', 'done'],
    ['a build in progress', 'False', 'Building', 'waiting'],
    ['a scan not finished', 'False', 'Scanning', 'waiting'],
    ['waiting for approval', 'False', 'AwaitingApproval', 'waiting'],
    ['a rollout in progress', 'False', 'RollingOut', 'waiting'],
    ['tests running', 'False', 'Testing', 'waiting'],
    ['rolling back', 'False', 'RollingBack', 'waiting'],
    ['a version MLflow has not finished', 'False', 'VersionNotReady', 'waiting'],
    ['Unknown', 'Unknown', 'Whatever', 'waiting'],
    ['a failed build', 'False', 'BuildFailed', 'failed'],
    ['scan findings', 'False', 'ScanFindings', 'failed'],
    ['a missed deadline', 'False', 'ProgressDeadlineExceeded', 'failed'],
    ['failed tests', 'False', 'TestsFailed', 'failed'],
    ['a failed rollback', 'False', 'RollbackFailed', 'failed'],
    ['an unknown model', 'False', 'ModelNotFound', 'failed'],
  ];
  it.each(table)('%s', (_case, status, reason, state) => expect(stepState({ status, reason })).toBe(state));
});

describe('runSteps', () => {
  it('shows nothing for an object not reconciled yet', () => {
    expect(runSteps(undefined, NOW)).toEqual([]);
  });

  it('resolve only: the resolution precedes the run, so it has no duration', () => {
    expect(brief(resolveOnly.status)).toEqual([['Resolve', 'done', 'Resolved', undefined]]);
  });

  it('waiting for approval: done steps end at their transition, the waiting one runs until now', () => {
    expect(brief(awaitingApproval.status)).toEqual([
      ['Resolve', 'done', 'Resolved', undefined],
      ['Build', 'done', 'Built', 2], // run started 10 min ago, built 8 min ago
      ['Scan', 'done', 'ScanPassed', 1],
      ['Approval', 'waiting', 'AwaitingApproval', 7],
    ]);
  });

  it('rolled back: the failed step ends when the rollback started, the rollback when it was done', () => {
    expect(brief(rolledBack.status)).toEqual([
      ['Resolve', 'done', 'Resolved', undefined],
      ['Build', 'done', 'Built', 2],
      ['Approval', 'done', 'ApprovalNotRequired', 0],
      ['Deploy', 'done', 'RolledOut', 1],
      ['Test', 'failed', 'TestsFailed', 2], // went False when the tests started: the rollback tells the end
      ['Rollback', 'done', 'RolledBack', 1],
    ]);
  });

  it('a failed run without rollback: the failed step ends when the run finished', () => {
    const status: ModelDeploymentStatus = {
      phase: 'Failed',
      currentRun: {
        version: '6',
        specHash: 'h',
        startedAt: before(30),
        finishedAt: before(20),
        result: 'Failed',
        reason: 'BuildFailed',
      },
      conditions: [condition('ImageBuilt', 'False', 'BuildFailed', 'build "b" failed', 29)],
    };
    expect(brief(status)).toEqual([['Build', 'failed', 'BuildFailed', 10]]);
  });

  it('a rollback in progress runs from its start until now', () => {
    const status: ModelDeploymentStatus = {
      phase: 'RollingBack',
      currentRun: {
        version: '6',
        specHash: 'h',
        startedAt: before(30),
        rollback: { toVersion: '5', startedAt: before(4) },
      },
      conditions: [
        condition('ImageBuilt', 'True', 'Built', 'built', 25),
        condition('Deployed', 'False', 'CrashLooping', 'crash-looping', 28),
        condition('RolledBack', 'False', 'RollingBack', 'rolling back', 4),
      ],
    };
    expect(brief(status)).toEqual([
      ['Build', 'done', 'Built', 5],
      ['Deploy', 'failed', 'CrashLooping', 21],
      ['Rollback', 'waiting', 'RollingBack', 4],
    ]);
  });

  it('a version MLflow has not finished registering waits since its condition flipped', () => {
    const status: ModelDeploymentStatus = {
      phase: 'Resolving',
      conditions: [condition('ModelResolved', 'False', 'VersionNotReady', 'not READY', 3)],
    };
    expect(brief(status)).toEqual([['Resolve', 'waiting', 'VersionNotReady', 3]]);
  });

  it('times it cannot read give no duration rather than a wrong one', () => {
    const status: ModelDeploymentStatus = {
      phase: 'Building',
      conditions: [
        { ...condition('ImageBuilt', 'False', 'Building', 'b', 0), lastTransitionTime: 'garbage' },
      ],
    };
    expect(brief(status)).toEqual([['Build', 'waiting', 'Building', undefined]]);
  });
});
