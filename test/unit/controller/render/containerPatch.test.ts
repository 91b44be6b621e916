import { describe, expect, it } from '@jest/globals';
import type { V1Container, V1Deployment, V1EnvVar } from '@kubernetes/client-node';
import { containerPatch, type DesiredContainer } from '../../../../src/controller/render/containerPatch.js';

const OLD = 'acme/churn-api:old';
const NEW = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-api@sha256:${'a'.repeat(64)}`;
const MODEL_ENV = { MODEL_URI: 'models:/Churn/3', MODEL_VERSION: '3' };

function deployment(containers: V1Container[]): V1Deployment {
  return {
    metadata: { name: 'churn-api', namespace: 'ml' },
    spec: { selector: {}, template: { spec: { containers } } },
  };
}

const sidecar: V1Container = { name: 'sidecar', image: 'envoy:1', env: [{ name: 'X', value: '1' }] };
const api = (env?: V1EnvVar[], image: string | null = OLD): V1Container => ({
  name: 'api',
  ...(image !== null ? { image } : {}),
  ...(env ? { env } : {}),
  ports: [{ containerPort: 8080 }],
});
const desired = (extra: Partial<DesiredContainer> = {}): DesiredContainer => ({
  container: 'api',
  image: NEW,
  env: MODEL_ENV,
  ...extra,
});

describe('containerPatch: nothing to patch', () => {
  it.each<{ name: string; containers: V1Container[]; listed: string[] }>([
    {
      name: 'other containers',
      containers: [sidecar, { name: 'worker', image: 'w' }],
      listed: ['sidecar', 'worker'],
    },
    { name: 'no containers', containers: [], listed: [] },
  ])('missing container ($name) lists the containers there are', ({ containers, listed }) => {
    expect(containerPatch(deployment(containers), desired())).toEqual({
      kind: 'missingContainer',
      containers: listed,
    });
  });

  it('a Deployment without a template is a missing container', () => {
    expect(containerPatch({ metadata: { name: 'x' } }, desired())).toEqual({
      kind: 'missingContainer',
      containers: [],
    });
  });

  it.each<{ name: string; env: V1EnvVar[] }>([
    {
      name: 'exactly the model env',
      env: [
        { name: 'MODEL_URI', value: 'models:/Churn/3' },
        { name: 'MODEL_VERSION', value: '3' },
      ],
    },
    {
      name: 'the model env among others, in any position',
      env: [
        { name: 'A', value: 'a' },
        { name: 'MODEL_VERSION', value: '3' },
        { name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
        { name: 'MODEL_URI', value: 'models:/Churn/3' },
      ],
    },
  ])('same image and env ($name) is up to date', ({ env }) => {
    const d = deployment([sidecar, api(env, NEW)]);
    expect(containerPatch(d, desired())).toEqual({ kind: 'upToDate', image: NEW });
  });

  it('builder none (no image) with the env already set is up to date with the current image', () => {
    const d = deployment([
      api([
        { name: 'MODEL_URI', value: 'models:/Churn/3' },
        { name: 'MODEL_VERSION', value: '3' },
      ]),
    ]);
    expect(containerPatch(d, desired({ image: undefined }))).toEqual({ kind: 'upToDate', image: OLD });
  });
});

describe('containerPatch: JSON patch', () => {
  it('image change: tests the container name at its index, replaces image and env', () => {
    const d = deployment([sidecar, api([{ name: 'LOG_LEVEL', value: 'info' }])]);
    expect(containerPatch(d, desired())).toEqual({
      kind: 'patch',
      image: NEW,
      previousImage: OLD,
      ops: [
        { op: 'test', path: '/spec/template/spec/containers/1/name', value: 'api' },
        { op: 'replace', path: '/spec/template/spec/containers/1/image', value: NEW },
        {
          op: 'replace',
          path: '/spec/template/spec/containers/1/env',
          value: [
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'MODEL_URI', value: 'models:/Churn/3' },
            { name: 'MODEL_VERSION', value: '3' },
          ],
        },
      ],
    });
  });

  it.each([0, 1, 3])('the ops address the container at index %i', (index) => {
    const containers: V1Container[] = [0, 1, 2, 3].map((i) => ({ name: `c${i}`, image: 'x' }));
    containers[index] = api([]);
    const r = containerPatch(deployment(containers), desired());
    if (r.kind !== 'patch') throw new Error(`expected a patch, got ${r.kind}`);
    const base = `/spec/template/spec/containers/${index}`;
    expect(r.ops.map((o) => (o as { path: string }).path)).toEqual([
      `${base}/name`,
      `${base}/image`,
      `${base}/env`,
    ]);
    expect(r.ops[0]).toEqual({ op: 'test', path: `${base}/name`, value: 'api' });
  });

  interface EnvRow {
    name: string;
    current: V1EnvVar[] | undefined;
    wanted: Record<string, string>;
    op: 'add' | 'replace';
    env: V1EnvVar[];
  }
  it.each<EnvRow>([
    {
      name: 'container without env: add',
      current: undefined,
      wanted: MODEL_ENV,
      op: 'add',
      env: [
        { name: 'MODEL_URI', value: 'models:/Churn/3' },
        { name: 'MODEL_VERSION', value: '3' },
      ],
    },
    {
      name: 'empty env list: replace',
      current: [],
      wanted: MODEL_ENV,
      op: 'replace',
      env: [
        { name: 'MODEL_URI', value: 'models:/Churn/3' },
        { name: 'MODEL_VERSION', value: '3' },
      ],
    },
    {
      name: 'same-named vars replaced in place, others kept in order, new appended',
      current: [
        { name: 'A', value: 'a' },
        { name: 'MODEL_VERSION', value: '2' },
        { name: 'B', valueFrom: { configMapKeyRef: { name: 'cm', key: 'b' } } },
        { name: 'C', value: 'c' },
      ],
      wanted: { ...MODEL_ENV, EXTRA: 'e' },
      op: 'replace',
      env: [
        { name: 'A', value: 'a' },
        { name: 'MODEL_VERSION', value: '3' },
        { name: 'B', valueFrom: { configMapKeyRef: { name: 'cm', key: 'b' } } },
        { name: 'C', value: 'c' },
        { name: 'MODEL_URI', value: 'models:/Churn/3' },
        { name: 'EXTRA', value: 'e' },
      ],
    },
    {
      name: 'a var that used valueFrom becomes a plain value (valueFrom dropped)',
      current: [
        { name: 'MODEL_URI', valueFrom: { secretKeyRef: { name: 'model', key: 'uri' } } },
        { name: 'Z', value: 'z' },
      ],
      wanted: MODEL_ENV,
      op: 'replace',
      env: [
        { name: 'MODEL_URI', value: 'models:/Churn/3' },
        { name: 'Z', value: 'z' },
        { name: 'MODEL_VERSION', value: '3' },
      ],
    },
  ])('$name', ({ current, wanted, op, env }) => {
    const r = containerPatch(deployment([api(current)]), desired({ env: wanted }));
    if (r.kind !== 'patch') throw new Error(`expected a patch, got ${r.kind}`);
    expect(r.ops[2]).toEqual({ op, path: '/spec/template/spec/containers/0/env', value: env });
  });

  it('env change only (same image) is a patch that keeps the image', () => {
    const d = deployment([api([{ name: 'MODEL_VERSION', value: '2' }], NEW)]);
    const r = containerPatch(d, desired());
    expect(r).toMatchObject({ kind: 'patch', image: NEW, previousImage: NEW });
  });

  it('builder none (image undefined) keeps the current image and sets the env', () => {
    const d = deployment([api([{ name: 'MODEL_VERSION', value: '2' }])]);
    const r = containerPatch(d, desired({ image: undefined }));
    expect(r).toEqual({
      kind: 'patch',
      image: OLD,
      previousImage: OLD,
      ops: [
        { op: 'test', path: '/spec/template/spec/containers/0/name', value: 'api' },
        { op: 'replace', path: '/spec/template/spec/containers/0/image', value: OLD },
        {
          op: 'replace',
          path: '/spec/template/spec/containers/0/env',
          value: [
            { name: 'MODEL_VERSION', value: '3' },
            { name: 'MODEL_URI', value: 'models:/Churn/3' },
          ],
        },
      ],
    });
  });

  it('a container without an image gets it with add', () => {
    const r = containerPatch(deployment([api(undefined, null)]), desired());
    if (r.kind !== 'patch') throw new Error(`expected a patch, got ${r.kind}`);
    expect(r.previousImage).toBeUndefined();
    expect(r.ops[1]).toEqual({ op: 'add', path: '/spec/template/spec/containers/0/image', value: NEW });
  });

  it('touches only the target container and does not change the Deployment', () => {
    const d = deployment([sidecar, api([{ name: 'MODEL_URI', value: 'old' }])]);
    const before = structuredClone(d);
    const r = containerPatch(d, desired());
    expect(d).toEqual(before);
    if (r.kind !== 'patch') throw new Error(`expected a patch, got ${r.kind}`);
    expect(
      r.ops.every((o) => (o as { path: string }).path.startsWith('/spec/template/spec/containers/1/')),
    ).toBe(true);
  });
});

describe('containerPatch: what the apiserver gives back', () => {
  // The apiserver drops empty strings (`value` is omitempty): a variable set to '' reads back as
  // { name } alone. Comparing it with { name, value: '' } makes every reconcile patch again, so
  // the rollout is never judged. sameEnv treats a missing value as ''.
  it('a variable with an empty value, as read back, is up to date', () => {
    const d = deployment([
      api(
        [
          { name: 'MODEL_URI', value: 'models:/Churn/3' },
          { name: 'MODEL_VERSION', value: '3' },
          { name: 'FEATURE_FLAG' },
        ],
        NEW,
      ),
    ]);
    expect(containerPatch(d, desired({ env: { ...MODEL_ENV, FEATURE_FLAG: '' } }))).toEqual({
      kind: 'upToDate',
      image: NEW,
    });
  });
});
