// judgeDrift: the live serving container against what the last run left.
import { describe, expect, it } from '@jest/globals';
import type { V1Container } from '@kubernetes/client-node';
import { judgeDrift } from '../../../../src/controller/policies/drift.js';
import { servingEnv } from '../../../../src/controller/render/containerPatch.js';
import { servingDeployment } from '../../helpers/fakeDeployments.js';
import { resolvedModel } from '../../helpers/pipelineFixtures.js';

const IMAGE = 'repo/churn-api@sha256:aaa';
const env = servingEnv({ MODE: 'online' }, resolvedModel());
const expected = { container: 'api', image: IMAGE, env };
const liveEnv = [
  { name: 'LOG_LEVEL', value: 'info' },
  { name: 'MODE', value: 'online' },
  { name: 'MODEL_URI', value: 'models:/Churn/3' },
  { name: 'MODEL_VERSION', value: '3' },
];
const deployment = (api: Partial<V1Container>) =>
  servingDeployment([
    { name: 'proxy', image: 'envoy:1.30' },
    { name: 'api', image: IMAGE, env: liveEnv, ...api },
  ]);

describe('judgeDrift', () => {
  it('the operator-managed env is spec.deployment.env rendered, then the model', () => {
    expect(servingEnv({ MODE: '{name}-{version}', MODEL_VERSION: 'x' }, resolvedModel())).toEqual({
      MODE: 'Churn-3',
      MODEL_VERSION: '3',
      MODEL_URI: 'models:/Churn/3',
    });
  });

  const none: [string, Partial<V1Container>][] = [
    ['as the run left it', {}],
    ['another env variable changed: not ours', { env: [...liveEnv, { name: 'EXTRA', value: '1' }] }],
    ['resources changed: not ours', { resources: { requests: { cpu: '2' } } }],
  ];
  it.each(none)('no drift: %s', (_, api) => {
    expect(judgeDrift(deployment(api), expected)).toEqual({ kind: 'none' });
  });

  it('another image: live vs expected, and the guarded patch that puts it back', () => {
    const verdict = judgeDrift(deployment({ image: 'repo/churn-api:rogue' }), expected);
    expect(verdict).toMatchObject({
      kind: 'drift',
      liveImage: 'repo/churn-api:rogue',
      expectedImage: IMAGE,
      envNames: [],
      message: `container "api" of Deployment "churn-api" drifted: live repo/churn-api:rogue vs expected ${IMAGE}`,
    });
    expect(verdict.kind === 'drift' && verdict.ops[0]).toEqual({
      op: 'test',
      path: '/spec/template/spec/containers/1/name',
      value: 'api',
    });
  });

  it('an operator-managed env variable changed or removed: named', () => {
    const drifted = liveEnv
      .filter((e) => e.name !== 'MODE')
      .map((e) => (e.name === 'MODEL_VERSION' ? { ...e, value: '999' } : e));
    const verdict = judgeDrift(deployment({ env: drifted }), expected);
    expect(verdict).toMatchObject({ kind: 'drift', envNames: ['MODE', 'MODEL_VERSION'] });
    expect(verdict.kind === 'drift' && verdict.message).toContain(
      `live ${IMAGE} vs expected ${IMAGE}; env MODE, MODEL_VERSION changed`,
    );
  });

  it('a managed variable taken from a Secret instead of a value is drift', () => {
    const fromSecret = liveEnv.map((e) =>
      e.name === 'MODE' ? { name: 'MODE', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } } : e,
    );
    expect(judgeDrift(deployment({ env: fromSecret }), expected)).toMatchObject({ envNames: ['MODE'] });
  });

  it('no expected image (builder none before an image was recorded): only the env counts', () => {
    expect(judgeDrift(deployment({ image: 'other:1' }), { container: 'api', env })).toEqual({ kind: 'none' });
  });

  it('the container is gone', () => {
    expect(judgeDrift(servingDeployment([{ name: 'proxy', image: 'envoy' }]), expected)).toEqual({
      kind: 'missingContainer',
      containers: ['proxy'],
    });
  });
});
