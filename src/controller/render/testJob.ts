// The test Job run against a rolled-out version. Pure.
import type { V1EnvVar, V1Job } from '@kubernetes/client-node';
import type { ModelDeployment, ResolvedModel } from '../../api/v1alpha1/modelDeployment.js';
import type { TestSpec } from '../../api/v1alpha1/pipeline.js';
import { childLabels, testJobName, type Named } from '../../children/names.js';
import { ownerReference } from '../../children/ownerRef.js';
import { mergeMaps, renderMap } from '../../children/template.js';

export const TEST_COMPONENT = 'model-test';

/** The in-cluster URL of a Service of the namespace. */
export function serviceUrl(namespace: string, serviceName: string): string {
  return `http://${serviceName}.${namespace}.svc`;
}

export interface TestJobInput {
  md: ModelDeployment;
  model: ResolvedModel;
  test: TestSpec;
  /** The Service the version under test is reached through: the one named like the serving
   * Deployment, or the blue-green preview's. */
  serviceName: string;
  /** Tells test runs of the same version apart (the image, a retry); it only feeds the name. */
  runKey: string;
}

export function renderTestJob({ md, model, test, serviceName, runKey }: TestJobInput): Named<V1Job> {
  const env: V1EnvVar[] = mergeMaps(renderMap(test.env, model), {
    SERVICE_URL: serviceUrl(md.metadata.namespace, serviceName),
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
