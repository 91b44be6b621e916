// Is the rollout done? kubectl's `rollout status` rules for a Deployment, as a pure function.
import type { V1Deployment } from '@kubernetes/client-node';
import { Reason } from '../../api/v1alpha1/conditions.js';

export type RolloutVerdict =
  | { kind: 'done'; message: string }
  | { kind: 'progressing'; message: string }
  | { kind: 'failed'; reason: Reason; message: string };

/** When our patch started this rollout, and now. The Deployment controller keeps a
 * ProgressDeadlineExceeded condition as it is (time and all) until the new rollout makes
 * progress, so one last updated before the patch is the earlier rollout's verdict, not this
 * one's, even once the controller has observed the patch. If no progress ever resets it, the
 * deadline is counted from the patch here. */
export interface RolloutClock {
  since: Date;
  now: Date;
}

const DEFAULT_PROGRESS_DEADLINE_S = 600;

export function judgeRollout(d: V1Deployment, clock?: RolloutClock): RolloutVerdict {
  const name = d.metadata?.name ?? '';
  const generation = d.metadata?.generation ?? 0;
  const s = d.status ?? {};
  if (generation > (s.observedGeneration ?? 0)) {
    return { kind: 'progressing', message: `waiting for Deployment "${name}" spec update to be observed` };
  }
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  const conditionAt = progressing?.lastUpdateTime ?? progressing?.lastTransitionTime;
  if (
    progressing?.reason === 'ProgressDeadlineExceeded' &&
    clock !== undefined &&
    conditionAt !== undefined &&
    new Date(conditionAt).getTime() < clock.since.getTime()
  ) {
    const deadlineS = d.spec?.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_S;
    if (clock.now.getTime() - clock.since.getTime() > deadlineS * 1000) {
      return {
        kind: 'failed',
        reason: Reason.ProgressDeadlineExceeded,
        message: `Deployment "${name}" made no progress within its progress deadline (${deadlineS}s) after the patch`,
      };
    }
    return { kind: 'progressing', message: `waiting for Deployment "${name}" to make progress` };
  }
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      kind: 'failed',
      reason: Reason.ProgressDeadlineExceeded,
      message: `Deployment "${name}" exceeded its progress deadline: ${progressing.message ?? ''}`.trim(),
    };
  }
  const wanted = d.spec?.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  if (updated < wanted) {
    return { kind: 'progressing', message: `${updated} of ${wanted} updated replicas of "${name}"` };
  }
  if ((s.replicas ?? 0) > updated) {
    return {
      kind: 'progressing',
      message: `${(s.replicas ?? 0) - updated} old replicas of "${name}" pending termination`,
    };
  }
  if ((s.availableReplicas ?? 0) < updated) {
    return {
      kind: 'progressing',
      message: `${s.availableReplicas ?? 0} of ${updated} updated replicas of "${name}" available`,
    };
  }
  return { kind: 'done', message: `Deployment "${name}" rolled out (${updated} replicas)` };
}
