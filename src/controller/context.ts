// What one reconcile of one ModelDeployment shares between its steps.
import type { AppsV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { setCondition } from '../runtime/conditions.js';
import { Stalling } from '../runtime/errors.js';
import type { Builder } from '../builders/builder.js';
import type { EcrRegistry } from '../clients/ecr.js';
import type {
  ModelDeployment,
  ModelDeploymentSpec,
  ModelDeploymentStatus,
  Phase,
} from '../api/v1alpha1/modelDeployment.js';
import type { ModelVersion } from '../clients/mlflow.js';
import type { EventSpec } from './summarize.js';

/** The registry calls the operator makes; MlflowClient is the implementation. */
export interface ModelRegistry {
  getVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  getLatestVersionInStage(name: string, stage: string): Promise<ModelVersion>;
}

/** When each object last got a verdict from MLflow. In memory on purpose: a restarted operator
 * polls once at start-up instead of writing a timestamp into status on every poll. */
export class PollTracker {
  private readonly last = new Map<string, number>();
  get(key: string): number | undefined {
    return this.last.get(key);
  }
  record(key: string, atMs: number): void {
    this.last.set(key, atMs);
  }
  forget(key: string): void {
    this.last.delete(key);
  }
}

/** What the build → rollout → test steps talk to. */
export interface PipelineDeps {
  ecr: EcrRegistry;
  builders: Record<'kaniko' | 'codebuild', Builder>;
  apps: AppsV1Api;
  batch: BatchV1Api;
  core: CoreV1Api;
}

/** What the reconciler reports to metrics; optional so tests can leave it out. */
export interface ReconcileMetrics {
  phase(namespace: string, name: string, phase: Phase | undefined): void;
  forget(namespace: string, name: string): void;
  step(step: PipelineStep, result: 'succeeded' | 'failed', seconds: number): void;
}

export type PipelineStep = 'build' | 'rollout' | 'test';

export interface ReconcileDeps {
  metrics?: ReconcileMetrics;
  registryFor(md: ModelDeployment): Promise<ModelRegistry>;
  pipeline?: PipelineDeps;
  polls: PollTracker;
  now(): Date;
  /** Field manager for the writes the operator makes. */
  fieldManager?: string;
}

export interface ReconcileContext {
  key: string;
  md: ModelDeployment;
  spec: ModelDeploymentSpec;
  /** The status being built; steps change it, the reconciler patches it once at the end. */
  status: ModelDeploymentStatus;
  /** The phase of the step now running; becomes status.phase if the reconcile stops here. */
  phase: Phase;
  events: EventSpec[];
  /** Finished steps to report to metrics, like events only once the status recording them is
   * written: a write lost to a conflict repeats the step's verdict, never the observation. */
  stepDurations: { step: PipelineStep; result: 'succeeded' | 'failed'; seconds: number }[];
  /** Earliest time any step wants to look again (e.g. the next MLflow poll). */
  requeueAfterMs: number | undefined;
  now: Date;
  log: Logger;
  deps: ReconcileDeps;
}

export type StepResult =
  | { kind: 'continue' }
  | { kind: 'done' } // nothing left to do this time: the pipeline is complete
  | { kind: 'idle'; requeueAfterMs: number } // nothing to do until then; keep the last verdict
  | { kind: 'wait'; reason: string; message: string; requeueAfterMs: number };

export type Step = (ctx: ReconcileContext) => Promise<StepResult>;

export function requeueNoLaterThan(ctx: ReconcileContext, ms: number): void {
  ctx.requeueAfterMs = ctx.requeueAfterMs === undefined ? ms : Math.min(ctx.requeueAfterMs, ms);
}

/** Sets one step condition on the status being built. */
export function markStep(
  ctx: ReconcileContext,
  type: string,
): (status: 'True' | 'False', reason: string, message: string) => void {
  return (status, reason, message) => {
    ctx.status.conditions = setCondition(
      ctx.status.conditions ?? [],
      { type, status, reason, message },
      ctx.md.metadata.generation,
      ctx.now,
    );
  };
}

/** Reports how long a pipeline step took, from a start time recorded in status. */
export function observeStep(
  ctx: ReconcileContext,
  step: PipelineStep,
  result: 'succeeded' | 'failed',
  startedAt: string | undefined,
): void {
  const started = startedAt ? Date.parse(startedAt) : NaN;
  if (!Number.isNaN(started))
    ctx.stepDurations.push({ step, result, seconds: Math.max(0, (ctx.now.getTime() - started) / 1000) });
}

/** The clients of the build → rollout → test steps; an operator started without them stalls. */
export function pipelineDeps(ctx: ReconcileContext): PipelineDeps {
  if (!ctx.deps.pipeline)
    throw new Stalling(
      'PipelineUnavailable',
      'this operator was started without AWS and Kubernetes clients for the pipeline',
    );
  return ctx.deps.pipeline;
}
