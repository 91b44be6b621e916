// What the pipeline needs from an image builder, whatever runs the build.
import type { Reason } from '../api/v1alpha1/conditions.js';
import {
  DEFAULT_EXECUTOR_IMAGE,
  type BuildSpec,
  type CodeBuildBuildSpec,
  type KanikoBuildSpec,
} from '../api/v1alpha1/pipeline.js';
import type { ModelDeployment, ResolvedModel } from '../api/v1alpha1/modelDeployment.js';
import { shortHash } from '../children/names.js';
import type { RepositoryRef } from '../clients/ecr.js';

export interface BuildRequest<S> {
  /** The owner of the build; only its metadata is read. */
  md: ModelDeployment;
  model: ResolvedModel;
  /** The build spec, narrowed to what this builder needs. */
  build: S;
  repo: RepositoryRef;
  tag: string;
  /** Hash of the build-relevant spec and the retry token; with the version it names the build
   * (a retry builds afresh under the same tag). Not the image's build hash (imageBuildHash). */
  buildHash: string;
}

/** Where a build to cancel runs: the owner's namespace (Jobs), the registry's region (CodeBuild). */
export interface CancelTarget {
  namespace: string;
  region: string;
}

export type BuildState =
  | { phase: 'Missing' } // never started, or cleaned up before it was observed
  | { phase: 'Running'; message: string }
  | { phase: 'Succeeded'; digest: string }
  | { phase: 'Failed'; reason: Reason; message: string };

export interface Builder<S> {
  readonly kind: 'kaniko' | 'codebuild';
  /** How often to look at a running build; 0 when its own watch events wake the reconciler. */
  readonly pollIntervalMs: number;
  /** Starts the build; starting one that already exists is not an error. Returns its name. */
  start(req: BuildRequest<S>): Promise<string>;
  observe(req: BuildRequest<S>, name: string): Promise<BuildState>;
  /** The build `start(req)` would start, if it already exists (deterministic names only). */
  find(req: BuildRequest<S>): Promise<{ name: string; startedAt: string } | undefined>;
  /** Stops and deletes a build; one that is already finished or gone is not an error. */
  cancel(target: CancelTarget, name: string): Promise<void>;
}

/** One builder per `spec.build.builder` that builds. */
export interface Builders {
  kaniko: Builder<KanikoBuildSpec>;
  codebuild: Builder<CodeBuildBuildSpec>;
}

export const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** What every build is told about the model, whatever the builder: the exact version. */
export function modelBuildArgs(model: ResolvedModel): Record<string, string> {
  return { MODEL_URI: model.uri, MODEL_NAME: model.name, MODEL_VERSION: model.version };
}

/** What makes an image's content, hashed: builder, context, Dockerfile, build args, CodeBuild
 * project, executor image. Not deadlines, service accounts, resources, the cache or a retry:
 * they change how a build runs, not what it makes. Defaults are filled in, so a spec that spells
 * a default out hashes like one that leaves it. */
export function imageBuildHash(build: BuildSpec): string {
  return shortHash({
    builder: build.builder,
    context: build.context,
    dockerfile: build.dockerfile ?? 'Dockerfile',
    buildArgs: build.buildArgs ?? {},
    codebuildProject: build.codebuild?.projectName,
    executorImage: build.builder === 'kaniko' ? (build.executorImage ?? DEFAULT_EXECUTOR_IMAGE) : undefined,
  });
}
