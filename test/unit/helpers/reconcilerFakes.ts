// Fakes the reconciler tests share: an in-memory MLflow registry, a status patcher that behaves
// like StatusPatcher + the apiserver (merge patch, no write when unchanged, resourceVersion
// bumped), a recording Event sink, and condition readers.
import type { ModelDeployment, ModelDeploymentStatus } from '../../../src/api/v1alpha1/modelDeployment.js';
import { MlflowError, type ModelVersion } from '../../../src/clients/mlflow.js';
import type { ModelRegistry, ReconcilerDeps } from '../../../src/controller/context.js';
import { findCondition, type Condition } from '../../../src/runtime/conditions.js';
import { statusMergePatch, type ResourceRef } from '../../../src/runtime/statusPatch.js';
import { applyMergePatch } from './mergePatch.js';

export function version(v: string, extra: Partial<ModelVersion> = {}): ModelVersion {
  return {
    name: 'Churn',
    version: v,
    run_id: `run-${v}`,
    source: `s3://models/${v}`,
    status: 'READY',
    ...extra,
  };
}

/** Answers every lookup with `answer` (a version, or an error to throw) and records the calls. */
export class FakeRegistry implements ModelRegistry {
  readonly calls: string[] = [];
  answer: ModelVersion | MlflowError = version('3');

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    this.calls.push(`${name} alias:${alias}`);
    return this.respond();
  }

  async getLatestVersionInStage(name: string, stage: string): Promise<ModelVersion> {
    this.calls.push(`${name} stage:${stage}`);
    return this.respond();
  }

  /** Metrics per run id, for the metric gate; a run not here is one MLflow does not have. */
  readonly runMetrics = new Map<string, Record<string, number>>();

  async getVersion(name: string, v: string): Promise<ModelVersion> {
    this.calls.push(`${name} version:${v}`);
    return version(v);
  }

  async getRunMetrics(runId: string): Promise<Record<string, number>> {
    this.calls.push(`run:${runId}`);
    const metrics = this.runMetrics.get(runId);
    if (!metrics) throw new MlflowError('NotFound', `MLflow has no run "${runId}"`, { httpStatus: 404 });
    return metrics;
  }

  /** Tags set on versions: `<name>/<version> <key>=<value>`; and alias moves. */
  readonly writes: string[] = [];
  /** Thrown by every write once set. */
  failWrites: Error | undefined;

  async setVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    if (this.failWrites) throw this.failWrites;
    this.writes.push(`${name}/${version} ${key}=${value}`);
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    if (this.failWrites) throw this.failWrites;
    this.writes.push(`${name} @${alias} -> ${version}`);
  }

  private respond(): ModelVersion {
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
}

/** An error shaped like client-node's ApiException. */
export const apiError = (code: number, message = `HTTP ${code}`) =>
  Object.assign(new Error(message), { code });

export interface StatusWrite {
  ref: ResourceRef;
  resourceVersion: string | undefined;
  patch: Record<string, unknown>;
}

/** What StatusPatcher + the apiserver do to `store`: no write when unchanged, else a merge patch.
 * `before` runs first and may throw (a failed write); `onWrite` sees each write that lands. */
export function fakeStatusPatcher(
  store: Map<string, ModelDeployment>,
  hooks: { before?: () => void; onWrite: (write: StatusWrite) => void },
): ReconcilerDeps['statusPatcher'] {
  return {
    patch: async (ref, resourceVersion, current, desired) => {
      hooks.before?.();
      const patch = statusMergePatch(current, JSON.parse(JSON.stringify(desired)) as Record<string, unknown>);
      if (!patch) return false;
      hooks.onWrite({ ref, resourceVersion, patch });
      const stored = store.get(`${ref.namespace}/${ref.name}`) as ModelDeployment;
      stored.status = applyMergePatch(stored.status ?? {}, patch) as ModelDeploymentStatus;
      stored.metadata.resourceVersion = String(Number(stored.metadata.resourceVersion) + 1);
      return stored.metadata.resourceVersion;
    },
  };
}

export interface RecordedEvent {
  type: string;
  reason: string;
  message: string;
}

export function recordingEvents(events: RecordedEvent[]): ReconcilerDeps['events'] {
  return {
    record: (_target, type, reason, message) => {
      events.push({ type, reason, message });
    },
    forget: () => {},
  };
}

/** A condition's status and reason, the parts most assertions are about. */
export const cond = (
  status: ModelDeploymentStatus,
  type: string,
): Pick<Condition, 'status' | 'reason'> | undefined => {
  const c = findCondition(status.conditions, type);
  return c && { status: c.status, reason: c.reason };
};

export const message = (status: ModelDeploymentStatus, type: string) =>
  findCondition(status.conditions, type)?.message;
