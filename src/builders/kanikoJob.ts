// The Kaniko build Job for one (model version, build spec). Pure: same input, same Job.
import type { V1Job } from '@kubernetes/client-node';
import type { ModelDeployment, ResolvedModel } from '../api/v1alpha1/modelDeployment.js';
import { DEFAULT_EXECUTOR_IMAGE, type KanikoBuildSpec } from '../api/v1alpha1/pipeline.js';
import { buildJobName, childLabels, type Named } from '../children/names.js';
import { ownerReference } from '../children/ownerRef.js';
import { mergeMaps, renderMap } from '../children/template.js';
import { modelBuildArgs } from './builder.js';

export const BUILD_COMPONENT = 'image-build';
export const KANIKO_CONTAINER = 'kaniko';
export const BUILD_TTL_SECONDS = 86_400;

export interface BuildInput {
  md: ModelDeployment;
  model: ResolvedModel;
  build: KanikoBuildSpec;
  /** <repository>:<tag> to push. */
  destination: string;
  /** Hash of everything in the spec that changes the image; part of the Job name. */
  buildHash: string;
  /** Where the registry is, for the AWS SDK inside the executor. */
  region: string;
}

export function renderBuildJob({
  md,
  model,
  build,
  destination,
  buildHash,
  region,
}: BuildInput): Named<V1Job> {
  // The exact version is always available to the Dockerfile and cannot be overridden.
  const buildArgs = mergeMaps(renderMap(build.buildArgs, model), modelBuildArgs(model));
  const args = [
    `--context=${build.context}`,
    `--dockerfile=${build.dockerfile ?? 'Dockerfile'}`,
    `--destination=${destination}`,
    ...buildArgs.map(([k, v]) => `--build-arg=${k}=${v}`),
    ...(build.cacheRepository ? ['--cache=true', `--cache-repo=${build.cacheRepository}`] : []),
    '--digest-file=/dev/termination-log',
    '--push-retry=3',
  ];
  const name = buildJobName(md.metadata.name, model.version, buildHash);
  const labels = childLabels(md.metadata.name, BUILD_COMPONENT, model.version);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: md.metadata.namespace, labels, ownerReferences: [ownerReference(md)] },
    spec: {
      backoffLimit: 0, // the operator decides about retries; a failed build is remembered
      activeDeadlineSeconds: build.activeDeadlineSeconds ?? 1800,
      ttlSecondsAfterFinished: BUILD_TTL_SECONDS,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(build.serviceAccountName ? { serviceAccountName: build.serviceAccountName } : {}),
          containers: [
            {
              name: KANIKO_CONTAINER,
              image: build.executorImage ?? DEFAULT_EXECUTOR_IMAGE,
              args,
              env: [
                { name: 'AWS_REGION', value: region },
                { name: 'AWS_SDK_LOAD_CONFIG', value: 'true' },
                { name: 'AWS_EC2_METADATA_DISABLED', value: 'true' },
              ],
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'FallbackToLogsOnError',
              ...(build.resources ? { resources: build.resources } : {}),
            },
          ],
        },
      },
    },
  };
}
