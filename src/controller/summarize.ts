// Turns the outcome of one reconcile into kstatus conditions and the phase, and names the Events
// the change deserves. Pure: the reconciler patches and records what this returns.
import { ConditionType, EventReason, Reason } from '../api/v1alpha1/conditions.js';
import type { ModelDeploymentStatus, Phase } from '../api/v1alpha1/modelDeployment.js';
import { type Condition, findCondition, removeCondition, setCondition } from '../runtime/conditions.js';

const { Ready: READY, Reconciling: RECONCILING, Stalled: STALLED } = ConditionType;

export type Outcome =
  | { kind: 'succeeded'; message: string } // every step is done
  | { kind: 'idle' } // nothing to do this time: keep the verdict of the last reconcile
  | { kind: 'progressing'; reason: string; message: string } // waiting on something that is not ready yet
  | { kind: 'retrying'; reason: string; message: string } // transient failure, retried with backoff
  | { kind: 'stalled'; reason: string; message: string; phase?: 'Failed' | 'RolledBack' }; // the user must act

export interface SummarizeInput {
  status: ModelDeploymentStatus; // already carries the steps' own conditions and results
  outcome: Outcome;
  /** The phase of the step that was running when the reconcile ended. */
  activePhase: Phase;
  generation: number | undefined;
  now: Date;
}

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export function summarize({
  status,
  outcome,
  activePhase,
  generation,
  now,
}: SummarizeInput): ModelDeploymentStatus {
  if (outcome.kind === 'idle')
    return { ...status, observedGeneration: generation ?? status.observedGeneration };
  let conditions: Condition[] = [...(status.conditions ?? [])];
  const set = (type: string, s: Condition['status'], reason: string, message: string) => {
    conditions = setCondition(conditions, { type, status: s, reason, message }, generation, now);
  };
  let phase: Phase;
  switch (outcome.kind) {
    case 'succeeded':
      set(READY, 'True', Reason.Succeeded, outcome.message);
      conditions = removeCondition(removeCondition(conditions, RECONCILING), STALLED);
      phase = 'Succeeded';
      break;
    case 'progressing':
    case 'retrying':
      set(READY, 'False', outcome.reason, outcome.message);
      set(
        RECONCILING,
        'True',
        outcome.kind === 'retrying' ? Reason.ProgressingWithRetry : outcome.reason,
        outcome.message,
      );
      conditions = removeCondition(conditions, STALLED);
      phase = activePhase;
      break;
    case 'stalled':
      set(READY, 'False', outcome.reason, outcome.message);
      set(STALLED, 'True', outcome.reason, outcome.message);
      conditions = removeCondition(conditions, RECONCILING);
      phase = outcome.phase ?? 'Failed';
      break;
  }
  return { ...status, observedGeneration: generation, phase, conditions: orderConditions(conditions) };
}

// Ready, Reconciling, Stalled first, then the step conditions in the order they were added.
function orderConditions(conditions: Condition[]): Condition[] {
  const kstatus: string[] = [READY, RECONCILING, STALLED];
  const rank = (c: Condition) => (kstatus.includes(c.type) ? kstatus.indexOf(c.type) : kstatus.length);
  return [...conditions].sort((a, b) => rank(a) - rank(b));
}

// A step's Event that says, with its details, what the transition to this Ready reason would.
const ANNOUNCED_BY: Partial<Record<string, string>> = {
  [Reason.Building]: EventReason.BuildStarted,
  [Reason.RollingOut]: EventReason.RolloutStarted,
  [Reason.Testing]: EventReason.TestStarted,
  [Reason.Drift]: EventReason.DriftCorrected,
  [Reason.Succeeded]: EventReason.NewModelVersion, // a resolve-only object: "Resolved version 3"
};

/** The Event for a status change: Ready changed status or reason. A phase change that leaves
 * Ready as it was (Deploying → Verifying) is no news; neither is a normal transition whose step
 * Event in the same reconcile (`stepEvents`) already said it. A failing one is always told. */
export function transitionEvents(
  before: ModelDeploymentStatus | undefined,
  after: ModelDeploymentStatus,
  stepEvents: readonly EventSpec[] = [],
): EventSpec[] {
  const wasReady = findCondition(before?.conditions, READY);
  const ready = findCondition(after.conditions, READY);
  if (!ready) return [];
  const reasonChanged = wasReady?.status !== ready.status || wasReady?.reason !== ready.reason;
  if (!reasonChanged) return [];
  const failing =
    ready.status !== 'True' &&
    (after.phase === 'Failed' ||
      after.phase === 'RollingBack' ||
      after.phase === 'RolledBack' ||
      findCondition(after.conditions, RECONCILING)?.reason === Reason.ProgressingWithRetry);
  const announcer = ANNOUNCED_BY[ready.reason];
  if (!failing && announcer && stepEvents.some((e) => e.reason === announcer)) return [];
  return [{ type: failing ? 'Warning' : 'Normal', reason: ready.reason, message: ready.message }];
}
