// May this ModelDeployment manage the serving container? Pure; table-tested. One ModelDeployment
// per container: the first to claim it keeps it while it exists and still targets it.
import type { DeploymentTarget } from '../../api/v1alpha1/pipeline.js';

export interface ClaimInput {
  /** Our name (claims are between objects of one namespace). */
  self: string;
  target: Pick<DeploymentTarget, 'name' | 'container'>;
  /** The name the claim annotation holds, if any. */
  holder: string | undefined;
  /** What the holder targets now; undefined when it no longer exists or is being deleted. */
  holderTarget: Pick<DeploymentTarget, 'name' | 'container'> | undefined;
}

export type ClaimDecision =
  | { kind: 'ours' } // already claimed by us: nothing to write
  | { kind: 'take'; staleHolder: string | undefined } // free, or held by an object that let go
  | { kind: 'taken'; holder: string }; // another object manages it: stall

export function judgeClaim({ self, target, holder, holderTarget }: ClaimInput): ClaimDecision {
  if (holder === self) return { kind: 'ours' };
  if (holder === undefined || holder === '') return { kind: 'take', staleHolder: undefined };
  const stillTargets =
    holderTarget !== undefined &&
    holderTarget.name === target.name &&
    holderTarget.container === target.container;
  return stillTargets ? { kind: 'taken', holder } : { kind: 'take', staleHolder: holder };
}
