// What one reconcile of one ModelDeployment shares between its steps, and how a step hands its
// result to the next.
import type { AppsV1Api, BatchV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Reason, type ConditionType } from '../api/v1alpha1/conditions.js';
import type {
  ModelDeployment,
  ModelDeploymentSpec,
  ModelDeploymentStatus,
  Phase,
} from '../api/v1alpha1/modelDeployment.js';
import type { Builders } from '../builders/builder.js';
import type { EcrRepositories } from '../clients/ecr.js';
import type { ModelVersion } from '../clients/mlflow.js';
import { ExponentialBackoff } from '../runtime/backoff.js';
import { setCondition } from '../runtime/conditions.js';
import { reasonOf } from '../runtime/errors.js';
import type { EventRecorder } from '../runtime/events.js';
import type { UnseenWrites } from '../runtime/cachedReads.js';
import type { StatusPatcher } from '../runtime/statusPatch.js';
import { RegistryPolls, type RegistryPollOptions } from './registryPolls.js';
import type { EventSpec } from './summarize.js';

/** The registry calls the operator makes; MlflowClient is the implementation. */
export interface ModelRegistry {
  getVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  getLatestVersionInStage(name: string, stage: string): Promise<ModelVersion>;
  getVersion(name: string, version: string): Promise<ModelVersion>;
  getRunMetrics(runId: string): Promise<Record<string, number>>;
  setVersionTag(name: string, version: string, key: string, value: string): Promise<void>;
  setAlias(name: string, alias: string, version: string): Promise<void>;
}

/** When each object last got a verdict from MLflow, its requests still in flight and its failed
 * polls in a row. In memory on purpose: a restarted operator polls once at start-up instead of
 * writing a timestamp into status on every poll. */
export class PollTracker {
  private readonly last = new Map<string, number>();
  readonly requests: RegistryPolls;
  /** Failed write-backs to MLflow in a row, per object: their own backoff, apart from the queue's. */
  readonly writeBackRetries = new ExponentialBackoff<string>({ baseMs: 2000, maxMs: 300_000 });
  constructor(options: RegistryPollOptions = {}) {
    this.requests = new RegistryPolls(options);
  }
  get(key: string): number | undefined {
    return this.last.get(key);
  }
  record(key: string, atMs: number): void {
    this.last.set(key, atMs);
  }
  /** Forgets the last verdict only: the next reconcile polls again. */
  forgetVerdict(key: string): void {
    this.last.delete(key);
  }
  /** Forgets everything about `key` (the object is gone). */
  forget(key: string): void {
    this.last.delete(key);
    this.requests.forget(key);
    this.writeBackRetries.reset(key);
  }
}

/** An instant Prometheus query: one number, or undefined when it has no result. */
export type MetricsQuery = (address: string, query: string) => Promise<number | undefined>;

/** What the build → rollout → test steps talk to. */
export interface PipelineDeps {
  ecr: EcrRepositories;
  builders: Builders;
  apps: AppsV1Api;
  batch: BatchV1Api;
  core: CoreV1Api;
  /** Canary analysis: clients/prometheus.ts queryInstant. */
  prometheus: MetricsQuery;
}

/** What the reconciler reports to metrics. */
export interface ReconcileMetrics {
  phase(namespace: string, name: string, phase: Phase | undefined): void;
  forget(namespace: string, name: string): void;
  step(step: PipelineStep, result: 'succeeded' | 'failed', seconds: number): void;
  /** A rollback finished: `reason` is why the run failed. */
  rollback(reason: string, result: 'succeeded' | 'failed'): void;
  /** A gate decided about a run (scan: passed, failed, allowed; approval: approved). */
  gate(gate: Gate, result: string): void;
}

export type Gate = 'metrics' | 'scan' | 'approval';

export type PipelineStep = 'build' | 'rollout' | 'test';

/** Everything the reconciler needs from outside, wired by the operator (and by test harnesses). */
export interface ReconcilerDeps {
  /** The informer cache's copy of a ModelDeployment. */
  get(key: string): ModelDeployment | undefined;
  registryFor(md: ModelDeployment): Promise<ModelRegistry>;
  pipeline: PipelineDeps;
  polls: PollTracker;
  metrics: ReconcileMetrics;
  statusPatcher: Pick<StatusPatcher, 'patch'>;
  /** Read-your-writes for the object's own status: a status write is remembered until the
   * informer delivers it; until then the cached object is older than what we wrote, and a
   * reconcile of it would repeat side effects the written status already records. */
  ownWrites?: Pick<UnseenWrites, 'wrote' | 'lagging'>;
  /** JSON patch of a ModelDeployment's metadata (its finalizer); returns the object. */
  modelDeployments: {
    patchMetadata(namespace: string, name: string, ops: object[]): Promise<ModelDeployment>;
  };
  /** Queues Events (written in the background); forget() when the object is gone. */
  events: Pick<EventRecorder, 'record' | 'forget'>;
  log: Logger;
  now(): Date;
  /** Field manager of the writes the operator makes. */
  fieldManager: string;
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
  /** Finished rollbacks to report to metrics, on the same terms as stepDurations. */
  rollbacks: { reason: string; result: 'succeeded' | 'failed' }[];
  /** Gate decisions to report to metrics, on the same terms. */
  gates: { gate: Gate; result: string }[];
  /** Earliest time any step wants to look again (e.g. the next MLflow poll). */
  requeueAfterMs: number | undefined;
  now: Date;
  log: Logger;
  deps: ReconcilerDeps;
}

/** A fresh context for one reconcile of `md`; the spec is checked by the reconciler first. */
export function newContext(deps: ReconcilerDeps, key: string, md: ModelDeployment): ReconcileContext {
  return {
    key,
    md,
    spec: md.spec,
    status: structuredClone(md.status ?? {}),
    phase: 'Pending',
    events: [],
    stepDurations: [],
    rollbacks: [],
    gates: [],
    requeueAfterMs: undefined,
    now: deps.now(),
    log: deps.log.child({ modeldeployment: key, generation: md.metadata.generation }),
    deps,
  };
}

/** Something is not ready yet: look again after `requeueAfterMs`. */
export type Wait = { kind: 'wait'; reason: Reason; message: string; requeueAfterMs: number };

/** Why a step ends the reconcile early. */
export type Stop =
  | { kind: 'done' } // nothing left to do this time: the pipeline is complete
  | { kind: 'idle'; requeueAfterMs: number } // nothing to do until then; keep the last verdict
  | Wait;

/** A step either hands its result to the next step or stops the reconcile. Failures are thrown
 * as typed errors (runtime/errors.ts); waiting is always a returned `wait`. */
export type StepResult<T> = { kind: 'next'; value: T } | Stop;

export const next = <T>(value: T): StepResult<T> => ({ kind: 'next', value });

export const wait = (reason: Reason, message: string, requeueAfterMs: number): Wait => ({
  kind: 'wait',
  reason,
  message,
  requeueAfterMs,
});

export function requeueNoLaterThan(ctx: ReconcileContext, ms: number): void {
  ctx.requeueAfterMs = ctx.requeueAfterMs === undefined ? ms : Math.min(ctx.requeueAfterMs, ms);
}

/** Sets one step condition on the status being built. */
export function markStep(
  ctx: ReconcileContext,
  type: ConditionType,
): (status: 'True' | 'False', reason: Reason, message: string) => void {
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

/** The catalogue reason of a thrown error. The operator builds its typed errors from catalogue
 * reasons only; any other error is a ReconcileError. */
export function reasonFrom(err: unknown): Reason {
  return (reasonOf(err) as Reason | undefined) ?? Reason.ReconcileError;
}
