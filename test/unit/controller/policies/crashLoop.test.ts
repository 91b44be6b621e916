// judgeCrashLoop: which new Pod (if any) makes a rollout fail before its progress deadline.
import { describe, expect, it } from '@jest/globals';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { judgeCrashLoop } from '../../../../src/controller/policies/crashLoop.js';

const pod = (name: string, ...statuses: Partial<V1ContainerStatus>[]): V1Pod => ({
  metadata: { name },
  status: {
    containerStatuses: statuses.map((s) => ({
      name: 'api',
      image: 'i',
      imageID: '',
      ready: false,
      restartCount: 0,
      ...s,
    })),
  },
});
const exited = { terminated: { exitCode: 3, reason: 'Error', message: 'cannot load model\n' } };

describe('judgeCrashLoop', () => {
  it.each([
    ['no Pods yet', [], undefined],
    ['restarts below the limit', [pod('p1', { restartCount: 2, lastState: exited })], undefined],
    [
      'another container restarting does not count',
      [pod('p1', { name: 'proxy', restartCount: 9 })],
      undefined,
    ],
    ['a Pod without statuses yet', [{ metadata: { name: 'p0' }, status: {} }], undefined],
    [
      'at the limit: says which Pod and how it last ended',
      [pod('p1'), pod('p2', { restartCount: 3, lastState: exited })],
      'container "api" of Pod "p2" restarted 3 times; it last ended with exit code 3 (Error): cannot load model',
    ],
    [
      'over the limit, no last state recorded',
      [pod('p1', { restartCount: 5 })],
      'container "api" of Pod "p1" restarted 5 times',
    ],
  ] as [string, V1Pod[], string | undefined][])('%s', (_name, pods, expected) => {
    expect(judgeCrashLoop(pods, 'api', 3)).toBe(expected);
  });
});
