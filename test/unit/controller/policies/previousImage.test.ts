// previousImageOf: the image before the current rollout, read from the Deployment's ReplicaSets.
import { describe, expect, it } from '@jest/globals';
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { previousImageOf } from '../../../../src/controller/policies/previousImage.js';

const UID = 'dep-uid';
const deployment = (revision: string | undefined): V1Deployment => ({
  metadata: {
    name: 'api',
    uid: UID,
    ...(revision ? { annotations: { 'deployment.kubernetes.io/revision': revision } } : {}),
  },
});
const rs = (revision: number, image: string, owner = UID): V1ReplicaSet => ({
  metadata: {
    name: `api-${revision}`,
    annotations: { 'deployment.kubernetes.io/revision': String(revision) },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api', uid: owner }],
  },
  spec: {
    selector: {},
    template: {
      spec: {
        containers: [
          { name: 'proxy', image: 'envoy' },
          { name: 'api', image },
        ],
      },
    },
  },
});

describe('previousImageOf', () => {
  const table: [string, V1Deployment, V1ReplicaSet[], string | undefined][] = [
    ['first rollout: the bootstrap image', deployment('2'), [rs(1, 'boot'), rs(2, 'new')], 'boot'],
    [
      'the highest revision below the current one',
      deployment('3'),
      [rs(1, 'boot'), rs(2, 'v1'), rs(3, 'new')],
      'v1',
    ],
    [
      'a rollback: the old ReplicaSet got the newest revision; before it, the version it replaced',
      deployment('4'),
      [rs(1, 'boot'), rs(3, 'v2'), rs(4, 'new')],
      'v2',
    ],
    [
      'ReplicaSets of another Deployment do not count',
      deployment('2'),
      [rs(1, 'boot', 'other'), rs(2, 'new')],
      undefined,
    ],
    [
      'the controller has not caught up (the current ReplicaSet runs another image)',
      deployment('2'),
      [rs(1, 'boot'), rs(2, 'older')],
      undefined,
    ],
    ['no revision yet', deployment(undefined), [rs(1, 'boot')], undefined],
    ['nothing before it', deployment('1'), [rs(1, 'new')], undefined],
  ];
  it.each(table)('%s', (_name, d, sets, expected) => {
    expect(previousImageOf(d, sets, 'api', 'new')).toBe(expected);
  });
});
