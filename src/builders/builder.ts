// What the pipeline needs from an image builder, whatever runs the build.
import type { Reason } from '../api/v1alpha1/conditions.js';
import type { CodeBuildBuildSpec, KanikoBuildSpec } from '../api/v1alpha1/pipeline.js';
import type { ModelDeployment, ResolvedModel } from '../api/v1alpha1/modelDeployment.js';
import type { RepositoryRef } from '../clients/ecr.js';

export interface BuildRequest<S> {
  /** The owner of the build; only its metadata is read. */
  md: ModelDeployment;
  model: ResolvedModel;
  /** The build spec, narrowed to what this builder needs. */
  build: S;
  repo: RepositoryRef;
  tag: string;
  /** Hash of the build-relevant spec; with the version it names the build. */
  buildHash: string;
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
