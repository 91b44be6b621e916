import { describe, expect, it } from '@jest/globals';
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { sideName } from '../../../../src/children/names.js';
import {
  renderSideDeployment,
  sideSelector,
  type SideInput,
} from '../../../../src/controller/render/sideDeployment.js';
import {
  SWITCH_ANNOTATION,
  switchBackOps,
  switchedFrom,
  switchToPreviewOps,
} from '../../../../src/controller/render/serviceSwitch.js';
import { applyJsonPatch, type JsonPatchOp } from '../../helpers/jsonPatch.js';
import { pipelineMd } from '../../helpers/pipelineFixtures.js';

const serving: V1Deployment = {
  metadata: { name: 'churn-api', namespace: 'ml' },
  spec: {
    replicas: 3,
    progressDeadlineSeconds: 90,
    selector: { matchLabels: { app: 'churn-api' } },
    template: {
      metadata: {
        labels: { app: 'churn-api', tier: 'web' },
        annotations: { 'prometheus.io/scrape': 'true' },
      },
      spec: {
        containers: [
          { name: 'proxy', image: 'envoy:1.30' },
          {
            name: 'api',
            image: 'old',
            env: [{ name: 'LOG', value: 'info' }],
            ports: [{ name: 'http', containerPort: 8080 }],
          },
        ],
      },
    },
  },
};

const input = (role: 'preview' | 'canary', extra: Partial<SideInput> = {}): SideInput => ({
  role,
  md: pipelineMd(),
  serving,
  container: 'api',
  image: 'repo@sha256:new',
  env: { MODEL_VERSION: '4' },
  version: '4',
  replicas: 2,
  userService: undefined,
  ...extra,
});

describe('renderSideDeployment', () => {
  it("preview: the serving template with the new image and env, and only the operator's labels", () => {
    const { deployment, service, selector } = renderSideDeployment(input('preview'));
    expect(deployment.metadata.name).toBe('churn-preview');
    expect(deployment.spec?.selector.matchLabels).toEqual(selector);
    expect(deployment.spec?.template.metadata?.labels).not.toHaveProperty('app');
    expect(deployment.spec?.template.metadata?.annotations).toEqual({ 'prometheus.io/scrape': 'true' });
    const [proxy, api] = deployment.spec?.template.spec?.containers ?? [];
    expect(proxy).toEqual({ name: 'proxy', image: 'envoy:1.30' });
    expect(api?.image).toBe('repo@sha256:new');
    expect(api?.env).toEqual([
      { name: 'LOG', value: 'info' },
      { name: 'MODEL_VERSION', value: '4' },
    ]);
    expect(deployment.spec).toMatchObject({ replicas: 2, progressDeadlineSeconds: 90 });
    expect(service.spec).toEqual({ selector, ports: [{ port: 8080, targetPort: 8080, name: 'http' }] });
    expect(serving.spec?.template.spec?.containers[1]?.image).toBe('old'); // not mutated
  });

  it("canary: keeps the serving Pods' labels (the user's Service selects it) and adds its own key", () => {
    const { deployment, selector } = renderSideDeployment(input('canary'));
    expect(deployment.metadata.name).toBe('churn-canary');
    expect(selector).toEqual({ 'mlops.healthpredict.io/canary-of': 'churn' });
    expect(deployment.spec?.template.metadata?.labels).toMatchObject({
      app: 'churn-api',
      tier: 'web',
      ...selector,
    });
  });

  it("copies the user Service's ports; the hash changes with what it renders", () => {
    const userService: V1Service = {
      spec: { ports: [{ name: 'web', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    };
    const a = renderSideDeployment(input('preview', { userService }));
    expect(a.service.spec?.ports).toEqual([{ port: 80, name: 'web', protocol: 'TCP', targetPort: 'http' }]);
    const b = renderSideDeployment(input('preview', { userService, replicas: 3 }));
    const hash = (d: { metadata: { annotations?: Record<string, string> } }) =>
      d.metadata.annotations?.['mlops.healthpredict.io/rendered-hash'];
    expect(hash(b.deployment)).not.toBe(hash(a.deployment));
    expect(hash(b.service)).toBe(hash(a.service));
  });

  it('selectors are fixed per object and role', () => {
    expect(sideSelector('preview', 'x')).toEqual({
      'app.kubernetes.io/managed-by': 'mlflow-model-operator',
      'app.kubernetes.io/instance': 'x',
      'app.kubernetes.io/component': 'preview',
    });
  });
});

describe('sideName', () => {
  it.each([
    ['churn', 'preview', 'churn-preview'],
    ['a'.repeat(63), 'canary', `${'a'.repeat(56)}-canary`],
  ])('%s %s', (md, role, name) => expect(sideName(md, role as 'preview')).toBe(name));

  it('mends names a Service cannot have, and keeps mended names apart', () => {
    const dotted = sideName('a.b', 'preview');
    const dashed = sideName('a-b', 'preview');
    expect(dotted).toMatch(/^a-b-[0-9a-f]{6}-preview$/);
    expect(dotted).not.toBe(dashed);
    expect(sideName('1abc', 'canary')).toMatch(/^md-1abc-[0-9a-f]{6}-canary$/);
    for (const n of [dotted, sideName('1abc', 'canary'), sideName(`${'x.'.repeat(40)}y`, 'preview')])
      expect(n).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
  });
});

describe('service switch', () => {
  // As a read gives it (structuredClone: the fake's deep-equal `test` compares prototypes too).
  const service = (annotations?: Record<string, string>): V1Service =>
    structuredClone({
      metadata: { name: 'api', ...(annotations ? { annotations } : {}) },
      spec: { selector: { app: 'api' } },
    });
  const preview = { 'app.kubernetes.io/component': 'preview' };

  it('switches to the preview and records the selector to return to, then goes back', () => {
    const before = service();
    const switched = applyJsonPatch(before, switchToPreviewOps(before, 'churn', preview) as JsonPatchOp[]);
    expect(switched.spec?.selector).toEqual(preview);
    expect(switchedFrom(switched)).toEqual({ modelDeployment: 'churn', selector: { app: 'api' } });
    const back = applyJsonPatch(switched, switchBackOps(switched, switchedFrom(switched)!) as JsonPatchOp[]);
    expect(back.spec?.selector).toEqual({ app: 'api' });
    expect(back.metadata?.annotations).toEqual({});
  });

  it('keeps other annotations, and the patch fails on a selector changed meanwhile', () => {
    const before = service({ team: 'ml' });
    const ops = switchToPreviewOps(before, 'churn', preview) as JsonPatchOp[];
    const switched = applyJsonPatch(before, ops);
    expect(switched.metadata?.annotations?.team).toBe('ml');
    const changed = structuredClone({ ...before, spec: { selector: { app: 'other' } } });
    expect(() => applyJsonPatch(changed, ops)).toThrow();
  });

  it('reads no switch from a missing or unreadable record', () => {
    expect(switchedFrom(service())).toBeUndefined();
    expect(switchedFrom(service({ [SWITCH_ANNOTATION]: 'not json' }))).toBeUndefined();
    expect(switchedFrom(service({ [SWITCH_ANNOTATION]: '{"selector":{}}' }))).toBeUndefined();
  });
});
