// The get and history views, whole, for fixed objects and a fixed "now": what a user sees.
import { describe, expect, it } from '@jest/globals';
import type { Run } from '../../../src/api/v1alpha1/pipeline.js';
import { describeRun, phaseSymbol, renderGet, renderGone, renderHistory } from '../../../src/cli/render.js';
import {
  awaitingApproval,
  before,
  fresh,
  md,
  NOW,
  resolveOnly,
  rolledBack,
  v3Succeeded,
} from './fixtures.js';

const lines = (...l: string[]) => l.join('\n') + '\n';
const SERVING_3 = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml/iris-serving@sha256:' + '3'.repeat(64);

describe('renderGet', () => {
  it('a run waiting for approval', () => {
    expect(renderGet(awaitingApproval, NOW)).toBe(
      lines(
        'Name:       iris',
        'Namespace:  ml',
        'Model:      iris-clf (alias:champion)',
        'Phase:      ◌ AwaitingApproval',
        'Version:    4',
        `Serving:    3  since 2h ago  ${SERVING_3}`,
        'Stable:     3  since 2h ago',
        'Message:    version 4 of "iris-clf" waits for approval',
        'Run:        version 4, started 10m ago, in progress',
        'Steps:',
        '  ✔ Resolve   Resolved              resolved version 4 from alias:champion',
        '  ✔ Build     Built             2m  123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml/iris-serving@sha256:4444444444444444444444444444444…',
        '  ✔ Scan      ScanPassed        1m  no finding at or above HIGH',
        '  ◌ Approval  AwaitingApproval  7m  version 4 of "iris-clf" waits for approval',
        'History (last 2):',
        '  VERSION  RESULT     REASON  FINISHED   IMAGE',
        '  3        Succeeded  -       2h ago     iris-serving@sha256:333333333333',
        '  2        Succeeded  -       2d23h ago  iris-serving@sha256:222222222222',
      ),
    );
  });

  it('a run rolled back after its tests failed', () => {
    expect(renderGet(rolledBack, NOW)).toBe(
      lines(
        'Name:       iris',
        'Namespace:  ml',
        'Model:      iris-clf (alias:champion)',
        'Phase:      ✖ RolledBack',
        'Version:    5',
        `Serving:    3  since 54m ago  ${SERVING_3}`,
        'Stable:     3  since 2h ago',
        'Message:    version 5 failed its tests and was rolled back to 3',
        'Run:        version 5, started 1h ago, RolledBack (TestsFailed) after 6m, back on version 3',
        'Steps:',
        '  ✔ Resolve   Resolved                 resolved version 5 from alias:champion',
        '  ✔ Build     Built                2m  built',
        '  ✔ Approval  ApprovalNotRequired  0s  spec.approval.required is false',
        '  ✔ Deploy    RolledOut            1m  Deployment "iris" rolled out',
        '  ✖ Test      TestsFailed          2m  test Job "iris-test-5" failed',
        '  ✔ Rollback  RolledBack           1m  Deployment "iris" runs version 3 again',
        'History (last 3):',
        '  VERSION  RESULT      REASON       FINISHED   IMAGE',
        '  5        RolledBack  TestsFailed  54m ago    iris-serving@sha256:555555555555',
        '  3        Succeeded   -            2h ago     iris-serving@sha256:333333333333',
        '  2        Succeeded   -            2d23h ago  iris-serving@sha256:222222222222',
      ),
    );
  });

  it('an object the operator has not reconciled yet', () => {
    expect(renderGet(fresh, NOW)).toBe(
      lines(
        'Name:       iris',
        'Namespace:  ml',
        'Model:      iris-clf (alias:champion)',
        'Phase:      ◌ Pending',
        'Version:    -',
        'Serving:    -',
        'Stable:     -',
        'History:    none yet',
      ),
    );
  });

  it('names a followed stage, and lists the last 5 runs only', () => {
    const runs: Run[] = ['9', '8', '7', '6', '5', '4', '3'].map((version) => ({ ...v3Succeeded, version }));
    const text = renderGet(
      md('by-stage', { ...resolveOnly.status, history: runs }, { model: { name: 'm', stage: 'Production' } }),
      NOW,
    );
    expect(text).toContain('Model:      m (stage:Production)\n');
    expect(text).toContain('History (last 5):\n');
    expect(text).toMatch(/\n {2}5 +Succeeded/);
    expect(text).not.toMatch(/\n {2}4 +Succeeded/);
  });

  it.each([
    ['resolve only', resolveOnly],
    ['awaiting approval', awaitingApproval],
    ['rolled back', rolledBack],
    ['fresh', fresh],
  ])('%s: no blank line inside a frame, so a blank line can separate frames', (_case, object) => {
    expect(renderGet(object, NOW)).not.toMatch(/\n\n/);
    expect(renderGet(object, NOW).endsWith('\n')).toBe(true);
  });

  it('is pure: the same object and time give the same text', () => {
    expect(renderGet(awaitingApproval, NOW)).toBe(
      renderGet(structuredClone(awaitingApproval), new Date(NOW)),
    );
    expect(renderGet(awaitingApproval, new Date(NOW.getTime() + 60_000))).toContain(
      '◌ Approval  AwaitingApproval  8m',
    );
  });
});

describe('phaseSymbol', () => {
  it.each([
    ['Succeeded', '✔'],
    ['Failed', '✖'],
    ['RolledBack', '✖'],
    ['Building', '◌'],
    ['AwaitingApproval', '◌'],
    [undefined, '◌'],
  ] as const)('%s → %s', (phase, symbol) => expect(phaseSymbol(phase)).toBe(symbol));
});

describe('describeRun', () => {
  it.each([
    [{ ...v3Succeeded }, 'version 3, started 2h5m ago, Succeeded after 5m'],
    [{ version: '4', specHash: 'h', startedAt: before(1) }, 'version 4, started 1m ago, in progress'],
    [
      {
        version: '4',
        specHash: 'h',
        startedAt: before(9),
        finishedAt: before(1),
        result: 'Failed',
        reason: 'BuildFailed',
      },
      'version 4, started 9m ago, Failed (BuildFailed) after 8m',
    ],
  ] as [Run, string][])('%j', (run, text) => expect(describeRun(run, NOW)).toBe(text));
});

describe('renderHistory', () => {
  it('newest first, the run in progress on top with the phase it is in', () => {
    expect(renderHistory(awaitingApproval, NOW)).toBe(
      lines(
        'VERSION  RESULT      REASON            STARTED   FINISHED   IMAGE                             MESSAGE',
        '4        InProgress  AwaitingApproval  10m ago   -          -',
        '3        Succeeded   -                 2h5m ago  2h ago     iris-serving@sha256:333333333333',
        '2        Succeeded   -                 3d ago    2d23h ago  iris-serving@sha256:222222222222',
      ),
    );
  });

  it('the message of a rolled-back run, on one line and shortened; a finished current run once', () => {
    expect(renderHistory(rolledBack, NOW)).toBe(
      lines(
        'VERSION  RESULT      REASON       STARTED   FINISHED   IMAGE                             MESSAGE',
        '5        RolledBack  TestsFailed  1h ago    54m ago    iris-serving@sha256:555555555555  test Job "iris-test-5" failed: FAILED tests/test_api.py::test_predict - Asserti…',
        '3        Succeeded   -            2h5m ago  2h ago     iris-serving@sha256:333333333333',
        '2        Succeeded   -            3d ago    2d23h ago  iris-serving@sha256:222222222222',
      ),
    );
  });

  it('nothing for an object without runs', () => {
    expect(renderHistory(fresh, NOW)).toBeUndefined();
  });
});

describe('renderGone', () => {
  it('says the object was deleted', () => {
    expect(renderGone('ml', 'iris')).toBe(
      'modeldeployment "iris" in namespace "ml" was deleted; waiting for it to come back\n',
    );
  });
});
