// Is the rollout done? kubectl's `rollout status` rules for a Deployment, as a pure function.
import type { V1Deployment } from '@kubernetes/client-node';
import { Reason } from '../../api/v1alpha1/conditions.js';

export type RolloutVerdict =
  | { kind: 'done'; message: string }
  | { kind: 'progressing'; message: string }
  | { kind: 'failed'; reason: Reason; message: string };

export function judgeRollout(d: V1Deployment): RolloutVerdict {
  const name = d.metadata?.name ?? '';
  const generation = d.metadata?.generation ?? 0;
  const s = d.status ?? {};
  if (generation > (s.observedGeneration ?? 0)) {
    return { kind: 'progressing', message: `waiting for Deployment "${name}" spec update to be observed` };
  }
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
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
