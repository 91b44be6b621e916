// judgeRollout against the rules of `kubectl rollout status` (kubectl/pkg/polymorphichelpers/
// rollout_status.go, DeploymentStatusViewer), one row per branch, in the order kubectl checks.
import { describe, expect, it } from '@jest/globals';
import type { V1Deployment, V1DeploymentCondition, V1DeploymentStatus } from '@kubernetes/client-node';
import { judgeRollout, type RolloutVerdict } from '../../../src/controller/policies/judgeRollout.js';

const progressing = (reason: string, message = ''): V1DeploymentCondition => ({
  type: 'Progressing',
  status: reason === 'ProgressDeadlineExceeded' ? 'False' : 'True',
  reason,
  message,
});

function deployment(
  status: V1DeploymentStatus | undefined,
  { generation = 2, replicas = 3 as number | null } = {},
): V1Deployment {
  return {
    metadata: { name: 'churn-api', generation },
    spec: { selector: {}, template: {}, ...(replicas !== null ? { replicas } : {}) },
    ...(status ? { status } : {}),
  };
}

// Everything rolled out: generation observed, 3 of 3 updated, no old ones, all available.
const rolledOut: V1DeploymentStatus = {
  observedGeneration: 2,
  replicas: 3,
  updatedReplicas: 3,
  availableReplicas: 3,
  conditions: [progressing('NewReplicaSetAvailable')],
};

interface Row {
  name: string;
  d: V1Deployment;
  verdict: RolloutVerdict;
}

const rows: Row[] = [
  {
    name: 'generation not observed yet',
    d: deployment({ ...rolledOut, observedGeneration: 1 }),
    verdict: {
      kind: 'progressing',
      message: 'waiting for Deployment "churn-api" spec update to be observed',
    },
  },
  {
    name: 'no status at all',
    d: deployment(undefined),
    verdict: {
      kind: 'progressing',
      message: 'waiting for Deployment "churn-api" spec update to be observed',
    },
  },
  {
    // kubectl looks at the deadline only once the generation is observed
    name: 'deadline exceeded but generation not observed',
    d: deployment({
      ...rolledOut,
      observedGeneration: 1,
      conditions: [progressing('ProgressDeadlineExceeded', 'ReplicaSet "x" has timed out progressing.')],
    }),
    verdict: {
      kind: 'progressing',
      message: 'waiting for Deployment "churn-api" spec update to be observed',
    },
  },
  {
    name: 'ProgressDeadlineExceeded',
    d: deployment({
      ...rolledOut,
      updatedReplicas: 1,
      conditions: [
        progressing('ProgressDeadlineExceeded', 'ReplicaSet "churn-api-7d9" has timed out progressing.'),
      ],
    }),
    verdict: {
      kind: 'failed',
      reason: 'ProgressDeadlineExceeded',
      message:
        'Deployment "churn-api" exceeded its progress deadline: ReplicaSet "churn-api-7d9" has timed out progressing.',
    },
  },
  {
    name: 'ProgressDeadlineExceeded without a message',
    d: deployment({
      ...rolledOut,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
    }),
    verdict: {
      kind: 'failed',
      reason: 'ProgressDeadlineExceeded',
      message: 'Deployment "churn-api" exceeded its progress deadline:',
    },
  },
  {
    name: 'fewer updated replicas than wanted',
    d: deployment({ ...rolledOut, updatedReplicas: 1 }),
    verdict: { kind: 'progressing', message: '1 of 3 updated replicas of "churn-api"' },
  },
  {
    name: 'no updated replicas reported',
    d: deployment({ observedGeneration: 2 }),
    verdict: { kind: 'progressing', message: '0 of 3 updated replicas of "churn-api"' },
  },
  {
    name: 'old replicas pending termination',
    d: deployment({ ...rolledOut, replicas: 5 }),
    verdict: { kind: 'progressing', message: '2 old replicas of "churn-api" pending termination' },
  },
  {
    name: 'updated replicas not all available',
    d: deployment({ ...rolledOut, availableReplicas: 2 }),
    verdict: { kind: 'progressing', message: '2 of 3 updated replicas of "churn-api" available' },
  },
  {
    name: 'no available replicas reported',
    d: deployment({ ...rolledOut, availableReplicas: undefined }),
    verdict: { kind: 'progressing', message: '0 of 3 updated replicas of "churn-api" available' },
  },
  {
    name: 'done',
    d: deployment(rolledOut),
    verdict: { kind: 'done', message: 'Deployment "churn-api" rolled out (3 replicas)' },
  },
  {
    name: 'done with a newer observed generation',
    d: deployment({ ...rolledOut, observedGeneration: 5 }),
    verdict: { kind: 'done', message: 'Deployment "churn-api" rolled out (3 replicas)' },
  },
  {
    name: 'done although available exceeds updated (surge)',
    d: deployment({ ...rolledOut, availableReplicas: 4 }),
    verdict: { kind: 'done', message: 'Deployment "churn-api" rolled out (3 replicas)' },
  },
  {
    name: 'replicas default to 1: none updated',
    d: deployment({ observedGeneration: 2 }, { replicas: null }),
    verdict: { kind: 'progressing', message: '0 of 1 updated replicas of "churn-api"' },
  },
  {
    name: 'replicas default to 1: done',
    d: deployment(
      { observedGeneration: 2, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
      { replicas: null },
    ),
    verdict: { kind: 'done', message: 'Deployment "churn-api" rolled out (1 replicas)' },
  },
  {
    name: 'scaled to zero is done',
    d: deployment({ observedGeneration: 2 }, { replicas: 0 }),
    verdict: { kind: 'done', message: 'Deployment "churn-api" rolled out (0 replicas)' },
  },
  {
    name: 'no generation at all counts as observed',
    d: {
      metadata: { name: 'churn-api' },
      spec: { selector: {}, template: {}, replicas: 3 },
      status: rolledOut,
    },
    verdict: { kind: 'done', message: 'Deployment "churn-api" rolled out (3 replicas)' },
  },
];

describe('judgeRollout', () => {
  it.each(rows)('$name', ({ d, verdict }) => {
    expect(judgeRollout(d)).toEqual(verdict);
  });

  it('ignores conditions other than Progressing', () => {
    const d = deployment({
      ...rolledOut,
      conditions: [{ type: 'Available', status: 'False', reason: 'ProgressDeadlineExceeded' }],
    });
    expect(judgeRollout(d).kind).toBe('done');
  });

  it('a Deployment without a name still gets a verdict', () => {
    expect(judgeRollout({}).kind).toBe('progressing');
  });
});

describe('judgeRollout after our own patch: a deadline condition left from the rollout before', () => {
  const patchedAt = new Date('2026-01-01T00:10:00Z');
  const timedOut = (lastUpdateTime: string): V1Deployment =>
    deployment({
      observedGeneration: 2,
      replicas: 2,
      updatedReplicas: 1,
      availableReplicas: 1,
      conditions: [
        {
          ...progressing('ProgressDeadlineExceeded', 'ReplicaSet "churn-api-v2" has timed out progressing.'),
          lastUpdateTime: new Date(lastUpdateTime),
        },
      ],
    });
  const at = (iso: string) => ({ since: patchedAt, now: new Date(iso) });

  it.each([
    [
      'last updated before the patch: not this rollout’s verdict yet',
      timedOut('2026-01-01T00:09:00Z'),
      at('2026-01-01T00:10:05Z'),
      'progressing',
    ],
    [
      'and no progress for the whole deadline since the patch: failed',
      timedOut('2026-01-01T00:09:00Z'),
      at('2026-01-01T00:20:01Z'),
      'failed',
    ],
    [
      'last updated after the patch: this rollout timed out',
      timedOut('2026-01-01T00:10:30Z'),
      at('2026-01-01T00:10:31Z'),
      'failed',
    ],
  ] as const)('%s', (_name, d, clock, kind) => {
    expect(judgeRollout(d, clock).kind).toBe(kind);
  });

  it('without a clock (nothing patched by us) the condition counts', () => {
    expect(judgeRollout(timedOut('2026-01-01T00:09:00Z')).kind).toBe('failed');
  });
});
