// The steps of the current run, read from the step conditions the operator writes. Pure: the
// status and "now" in, one view per condition present out.
//
// A condition keeps one time, lastTransitionTime, when its status last flipped. So a step that is
// done ended at its lastTransitionTime, and it began when the step before it ended (the first one
// when the run started). A failed step ended when the run turned to a rollback or finished; a
// step in progress has gone on since it began. ModelResolved is no step of the run: the version
// is resolved before the run starts and stays True across runs, so it only shows a duration while
// it waits.
import { ConditionType, STEP_WAITING_REASONS } from '../api/v1alpha1/conditions.js';
import type { Condition, ModelDeploymentStatus } from '../api/v1alpha1/modelDeployment.js';
import { timeOf } from './format.js';

export type StepState = 'done' | 'failed' | 'waiting';

export interface StepView {
  step: string;
  state: StepState;
  reason: string;
  message: string;
  /** How long the step took, or has been going on; undefined when the times do not tell. */
  durationMs: number | undefined;
}

/** The pipeline in order: condition type → the name the view gives the step. */
export const STEPS: readonly (readonly [ConditionType, string])[] = [
  [ConditionType.ModelResolved, 'Resolve'],
  [ConditionType.MetricsPassed, 'Metrics'],
  [ConditionType.ImageBuilt, 'Build'],
  [ConditionType.ImageScanned, 'Scan'],
  [ConditionType.Previewed, 'Preview'],
  [ConditionType.Approved, 'Approval'],
  [ConditionType.Deployed, 'Deploy'],
  [ConditionType.TestsPassed, 'Test'],
  [ConditionType.RolledBack, 'Rollback'],
];

export const SYMBOL: Record<StepState, string> = { done: '✔', failed: '✖', waiting: '◌' };

export function stepState(condition: Pick<Condition, 'status' | 'reason'>): StepState {
  if (condition.status === 'True') return 'done';
  if (condition.status === 'Unknown' || STEP_WAITING_REASONS.has(condition.reason)) return 'waiting';
  return 'failed';
}

export function runSteps(status: ModelDeploymentStatus | undefined, now: Date): StepView[] {
  const run = status?.currentRun;
  const finished = timeOf(run?.finishedAt);
  const rollbackStart = timeOf(run?.rollback?.startedAt);
  let previousEnd = timeOf(run?.startedAt);
  const views: StepView[] = [];
  for (const [type, step] of STEPS) {
    const condition = status?.conditions?.find((c) => c.type === type);
    if (!condition) continue;
    const state = stepState(condition);
    const changed = timeOf(condition.lastTransitionTime);
    const { reason, message } = condition;
    if (type === ConditionType.ModelResolved) {
      const durationMs = state === 'waiting' ? span(changed, now.getTime()) : undefined;
      views.push({ step, state, reason, message, durationMs });
      continue;
    }
    const start = type === ConditionType.RolledBack ? (rollbackStart ?? previousEnd) : previousEnd;
    let end: number | undefined;
    if (state === 'done') end = changed;
    else if (state === 'failed')
      end =
        type === ConditionType.RolledBack ? (finished ?? changed) : (rollbackStart ?? finished ?? changed);
    else end = finished ?? now.getTime();
    // A step waiting since a later flip of its own (e.g. Approved False) began then.
    const from = state === 'waiting' ? latest(start, changed) : start;
    views.push({ step, state, reason, message, durationMs: span(from, end) });
    if (state === 'done' && end !== undefined) previousEnd = end;
  }
  return views;
}

function span(from: number | undefined, to: number | undefined): number | undefined {
  return from === undefined || to === undefined || to < from ? undefined : to - from;
}

function latest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined ? a : Math.max(a, b);
}
