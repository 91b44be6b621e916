// The watch mappers: which ModelDeployments a change to a watched object wakes.
import { describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ModelDeployment } from '../../../src/api/v1alpha1/modelDeployment.js';
import {
  childWatches,
  keepDeployment,
  MANAGED_SELECTOR,
  wakeOwner,
  wakeSelf,
  wakeUsersOf,
  type ModelDeploymentLookup,
} from '../../../src/controller/watches.js';
import { modelDeployment, pipelineSpec } from '../helpers/pipelineFixtures.js';

const md = (name: string, namespace: string, deployment?: string): ModelDeployment => {
  const m = modelDeployment(
    pipelineSpec(deployment ? { deployment: { name: deployment, container: 'api' } } : {}),
  );
  m.metadata = { ...m.metadata, name, namespace };
  return m;
};
const owned = (owner: { apiVersion: string; kind: string; name: string }): KubernetesObject => ({
  metadata: { name: 'churn-build-v3-abc', namespace: 'ml', ownerReferences: [{ ...owner, uid: 'u1' }] },
});

describe('wakeSelf', () => {
  it('a ModelDeployment wakes itself', () => {
    expect(wakeSelf(md('churn', 'ml'))).toEqual(['ml/churn']);
  });
});

describe('wakeOwner', () => {
  it.each([
    [
      'owned by a ModelDeployment',
      { apiVersion: 'mlops.healthpredict.io/v1alpha1', kind: 'ModelDeployment', name: 'churn' },
      ['ml/churn'],
    ],
    [
      'owned by a ModelDeployment of another version',
      { apiVersion: 'mlops.healthpredict.io/v2', kind: 'ModelDeployment', name: 'churn' },
      ['ml/churn'],
    ],
    ['owned by a CronJob', { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly' }, []],
    [
      'a ModelDeployment kind of another group',
      { apiVersion: 'other.io/v1', kind: 'ModelDeployment', name: 'churn' },
      [],
    ],
  ])('%s', (_name, owner, expected) => {
    expect(wakeOwner(owned(owner))).toEqual(expected);
  });

  it('an object without owners wakes nobody', () => {
    expect(wakeOwner({ metadata: { name: 'x', namespace: 'ml' } })).toEqual([]);
  });
});

describe('wakeUsersOf', () => {
  const all = [
    md('churn', 'ml', 'churn-api'),
    md('churn-b', 'ml', 'churn-api'),
    md('fraud', 'ml', 'fraud-api'),
    md('churn', 'other', 'churn-api'),
  ];
  const lookup: ModelDeploymentLookup = (namespace) => all.filter((m) => m.metadata.namespace === namespace);
  const deployment = (name: string, namespace: string): KubernetesObject => ({
    metadata: { name, namespace },
  });

  it('wakes every ModelDeployment of the namespace that rolls this Deployment', () => {
    expect(wakeUsersOf(deployment('churn-api', 'ml'), lookup)).toEqual(['ml/churn', 'ml/churn-b']);
  });

  it('wakes nobody for a Deployment no ModelDeployment rolls', () => {
    expect(wakeUsersOf(deployment('web', 'ml'), lookup)).toEqual([]);
  });

  it('looks only in the Deployment’s namespace', () => {
    expect(wakeUsersOf(deployment('churn-api', 'other'), lookup)).toEqual(['other/churn']);
  });
});

describe('childWatches', () => {
  it('watches only the Jobs the operator labels, and every Deployment (they carry no label of ours)', () => {
    expect(childWatches.map((w) => [w.name, `${w.apiPath}/${w.plural}`, w.labelSelector])).toEqual([
      ['jobs', '/apis/batch/v1/jobs', MANAGED_SELECTOR],
      ['deployments', '/apis/apps/v1/deployments', undefined],
    ]);
  });
});

describe('keepDeployment', () => {
  const deployment = (name: string): KubernetesObject =>
    ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name,
        namespace: 'ml',
        uid: 'u',
        resourceVersion: '7',
        managedFields: [{ manager: 'kubectl' }],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":1}', keep: 'me' },
      },
      spec: { replicas: 2 },
      status: { replicas: 2 },
    }) as KubernetesObject;
  const lookup: ModelDeploymentLookup = (ns) => (ns === 'ml' ? [md('churn', 'ml', 'churn-api')] : []);

  it('keeps a Deployment a ModelDeployment serves from, without managed fields and kubectl’s copy', () => {
    const kept = keepDeployment(deployment('churn-api'), lookup) as KubernetesObject & { spec?: unknown };
    expect(kept.metadata?.managedFields).toBeUndefined();
    expect(kept.metadata?.annotations).toEqual({ keep: 'me' });
    expect(kept.spec).toEqual({ replicas: 2 });
  });

  it('keeps only the name of any other Deployment', () => {
    expect(keepDeployment(deployment('web'), lookup)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'ml', uid: 'u', resourceVersion: '7' },
    });
  });
});
