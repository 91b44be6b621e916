// Fixed ModelDeployments and a fixed "now" for the plugin's tests: one resolve-only object that
// succeeded, one run waiting for approval, one rolled back, one not reconciled yet.
import type {
  Condition,
  ModelDeployment,
  ModelDeploymentStatus,
} from '../../../src/api/v1alpha1/modelDeployment.js';
import type { Run } from '../../../src/api/v1alpha1/pipeline.js';

export const NOW = new Date('2025-03-01T12:00:00.000Z');
/** An RFC 3339 time `minutes` before NOW. */
export const before = (minutes: number): string => new Date(NOW.getTime() - minutes * 60_000).toISOString();

export const IMAGE = (digit: string) =>
  `123456789012.dkr.ecr.eu-west-1.amazonaws.com/ml/iris-serving@sha256:${digit.repeat(64)}`;

export const condition = (
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  minutesAgo: number,
): Condition => ({ type, status, reason, message, lastTransitionTime: before(minutesAgo) });

const run = (version: string, fields: Partial<Run>): Run => ({
  version,
  specHash: 'abc123',
  startedAt: before(60),
  ...fields,
});

export const v2Succeeded = run('2', {
  startedAt: before(3 * 24 * 60),
  finishedAt: before(3 * 24 * 60 - 3),
  result: 'Succeeded',
  image: IMAGE('2'),
});
export const v3Succeeded = run('3', {
  startedAt: before(125),
  finishedAt: before(120),
  result: 'Succeeded',
  image: IMAGE('3'),
});

export function md(
  name: string,
  status: ModelDeploymentStatus | undefined,
  extra: object = {},
): ModelDeployment {
  return {
    apiVersion: 'mlops.healthpredict.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name, namespace: 'ml', resourceVersion: '42' },
    spec: {
      model: { name: 'iris-clf', alias: 'champion', pollInterval: '60s' },
      registry: { trackingUri: 'http://mlflow:5000', timeoutSeconds: 10 },
      historyLimit: 10,
      suspend: false,
      ...extra,
    },
    ...(status ? { status } : {}),
  };
}

const resolvedModel = (version: string) => ({
  name: 'iris-clf',
  version,
  uri: `models:/iris-clf/${version}`,
  resolvedFrom: 'alias:champion',
  resolvedAt: before(300),
});

/** Only spec.model and spec.registry: the run succeeds as soon as the version is resolved. */
export const resolveOnly = md('iris', {
  phase: 'Succeeded',
  model: resolvedModel('3'),
  currentRun: v3Succeeded,
  history: [v3Succeeded, v2Succeeded],
  conditions: [
    condition('Ready', 'True', 'Succeeded', 'version 3 of "iris-clf" is deployed', 120),
    condition('ModelResolved', 'True', 'Resolved', 'resolved version 3 from alias:champion', 300),
  ],
});

const v4Waiting = run('4', { startedAt: before(10) });
export const awaitingApproval = md(
  'iris',
  {
    phase: 'AwaitingApproval',
    model: resolvedModel('4'),
    currentRun: v4Waiting,
    serving: { version: '3', image: IMAGE('3'), since: before(120) },
    stable: { version: '3', image: IMAGE('3'), env: {}, since: before(120) },
    history: [v3Succeeded, v2Succeeded],
    conditions: [
      condition('Ready', 'False', 'AwaitingApproval', 'version 4 of "iris-clf" waits for approval', 7),
      condition('Reconciling', 'True', 'AwaitingApproval', 'version 4 of "iris-clf" waits for approval', 7),
      condition('ModelResolved', 'True', 'Resolved', 'resolved version 4 from alias:champion', 300),
      condition('ImageBuilt', 'True', 'Built', `${IMAGE('4')} is sha256:4444; tag v4`, 8),
      condition('ImageScanned', 'True', 'ScanPassed', 'no finding at or above HIGH', 7),
      condition('Approved', 'False', 'AwaitingApproval', 'version 4 of "iris-clf" waits for approval', 7),
    ],
  },
  { approval: { required: true } },
);

const v5RolledBack = run('5', {
  startedAt: before(60),
  finishedAt: before(54),
  result: 'RolledBack',
  reason: 'TestsFailed',
  message: 'test Job "iris-test-5" failed:\n  FAILED tests/test_api.py::test_predict - AssertionError',
  image: IMAGE('5'),
  rollback: { toVersion: '3', startedAt: before(55) },
});
export const rolledBack = md('iris', {
  phase: 'RolledBack',
  model: resolvedModel('5'),
  currentRun: v5RolledBack,
  serving: { version: '3', image: IMAGE('3'), since: before(54) },
  stable: { version: '3', image: IMAGE('3'), env: {}, since: before(120) },
  history: [v5RolledBack, v3Succeeded, v2Succeeded],
  conditions: [
    condition('Ready', 'False', 'TestsFailed', 'version 5 failed its tests and was rolled back to 3', 57),
    condition('ModelResolved', 'True', 'Resolved', 'resolved version 5 from alias:champion', 300),
    condition('ImageBuilt', 'True', 'Built', 'built', 58),
    condition('Approved', 'True', 'ApprovalNotRequired', 'spec.approval.required is false', 58),
    condition('Deployed', 'True', 'RolledOut', 'Deployment "iris" rolled out', 57),
    condition('TestsPassed', 'False', 'TestsFailed', 'test Job "iris-test-5" failed', 57),
    condition('RolledBack', 'True', 'RolledBack', 'Deployment "iris" runs version 3 again', 54),
  ],
});

/** Created, not reconciled yet. */
export const fresh = md('iris', undefined);
