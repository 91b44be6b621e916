// A ModelDeployment with the whole pipeline (image, kaniko build, deployment, test) and a
// resolved model, for the render, builder and reconciler tests. pipelineMd's spec goes through
// the strict schema, so it carries the defaults the reconciler sees.
import {
  ModelDeploymentSpecStrictSchema,
  type ModelDeployment,
  type ResolvedModel,
} from '../../../src/api/v1alpha1/modelDeployment.js';

export const NS = 'ml';
export const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-api';
export const CACHE_REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-cache';
export const CONTEXT = 'git://github.com/acme/churn.git#refs/heads/main';
export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;

export function pipelineSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: { name: 'Churn', alias: 'champion' },
    registry: { trackingUri: 'http://mlflow:5000' },
    image: { repository: REPO },
    build: { builder: 'kaniko', context: CONTEXT },
    deployment: { name: 'churn-api', container: 'api' },
    test: { image: 'acme/churn-tests:1' },
    ...extra,
  };
}

export function pipelineMd(
  extra: Record<string, unknown> = {},
  metadata: Partial<ModelDeployment['metadata']> = {},
): ModelDeployment {
  return modelDeployment(ModelDeploymentSpecStrictSchema.parse(pipelineSpec(extra)), metadata);
}

/** The churn ModelDeployment in namespace ml with `spec` taken as it is (no schema, no defaults). */
export function modelDeployment(
  spec: object,
  metadata: Partial<ModelDeployment['metadata']> = {},
): ModelDeployment {
  return {
    apiVersion: 'mlops.healthpredict.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: {
      name: 'churn',
      namespace: NS,
      uid: 'uid-1',
      generation: 1,
      resourceVersion: '1',
      ...metadata,
    },
    spec: spec as ModelDeployment['spec'],
  };
}

export function resolvedModel(extra: Partial<ResolvedModel> = {}): ResolvedModel {
  return {
    name: 'Churn',
    version: '3',
    runId: 'abcdef0123456789',
    uri: 'models:/Churn/3',
    resolvedFrom: 'alias:champion',
    resolvedAt: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

/** The JSON patch the rollout sends for version 3 of Churn to the harness's serving Deployment
 * (api is its second container, with LOG_LEVEL already set). */
export function servingPatchOps(image: string): object[] {
  const path = '/spec/template/spec/containers/1';
  return [
    { op: 'test', path: `${path}/name`, value: 'api' },
    { op: 'replace', path: `${path}/image`, value: image },
    {
      op: 'replace',
      path: `${path}/env`,
      value: [
        { name: 'LOG_LEVEL', value: 'info' },
        { name: 'MODEL_URI', value: 'models:/Churn/3' },
        { name: 'MODEL_VERSION', value: '3' },
      ],
    },
  ];
}
