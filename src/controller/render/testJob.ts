// The test Job run against a rolled-out version. Pure.
import type { V1EnvVar, V1Job } from '@kubernetes/client-node';
import type { ModelDeployment, ResolvedModel } from '../../api/v1alpha1/modelDeployment.js';
import { childLabels, testJobName } from './names.js';
import { ownerReference } from './ownerRef.js';
import { renderMap } from './template.js';

export const TEST_COMPONENT = 'model-test';

export function serviceUrl(md: ModelDeployment): string {
  return `http://${md.spec.deployment!.name}.${md.metadata.namespace}.svc`;
}

/** `runKey` tells test runs of the same version apart (the image, a retry); it only feeds the name. */
export function renderTestJob(md: ModelDeployment, model: ResolvedModel, runKey: string): V1Job {
  const test = md.spec.test!;
  const env: V1EnvVar[] = Object.entries({
    ...renderMap(test.env, model),
    SERVICE_URL: serviceUrl(md),
    MODEL_NAME: model.name,
    MODEL_VERSION: model.version,
    MODEL_URI: model.uri,
  }).map(([name, value]) => ({ name, value }));
  const labels = childLabels(md.metadata.name, TEST_COMPONENT, model.version);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: testJobName(md.metadata.name, model.version, runKey),
      namespace: md.metadata.namespace,
      labels,
      ownerReferences: [ownerReference(md)],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: test.timeoutSeconds ?? 600,
      ttlSecondsAfterFinished: test.ttlSecondsAfterFinished ?? 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(test.serviceAccountName ? { serviceAccountName: test.serviceAccountName } : {}),
          containers: [
            {
              name: 'test',
              image: test.image,
              ...(test.command ? { command: test.command } : {}),
              ...(test.args ? { args: test.args } : {}),
              env,
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
        },
      },
    },
  };
}
