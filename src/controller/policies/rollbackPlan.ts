// Can a failed run be rolled back, and to what? Pure; table-tested. A run that failed before it
// touched the serving container (a build) leaves nothing to undo; one that changed it is put
// back on the stable version: the last one that passed its whole run.
import type { Stable } from '../../api/v1alpha1/pipeline.js';

export interface RollbackInput {
  /** spec.rollback.onFailure (absent: true). */
  enabled: boolean;
  /** Did the failed run change (or find changed) the serving container? */
  touchedContainer: boolean;
  stable: Stable | undefined;
  failedVersion: string;
  deployment: string;
}

export type RollbackPlan =
  | { kind: 'rollBack'; to: Stable }
  /** Nothing is rolled back; `note` (if any) is said in the condition. */
  | { kind: 'leave'; note?: string };

export function planRollback(input: RollbackInput): RollbackPlan {
  const { enabled, touchedContainer, stable, failedVersion, deployment } = input;
  if (!touchedContainer) return { kind: 'leave' };
  const left = `Deployment "${deployment}" is left on version ${failedVersion}`;
  if (!enabled) return { kind: 'leave', note: `spec.rollback.onFailure is false: ${left}` };
  if (!stable) {
    return {
      kind: 'leave',
      note: `nothing to roll back to, as no version deployed by this ModelDeployment passed its run before: ${left}`,
    };
  }
  return { kind: 'rollBack', to: stable };
}
