// Does the resolved version need a deployment run, and which? Pure; table-tested. A run is one
// attempt to deploy one (version, pipeline spec): only a new version, a spec change or a new
// value of the retry annotation starts another after one finished.
import type { Run } from '../../api/v1alpha1/pipeline.js';

export interface RunInput {
  /** status.currentRun: the run in progress or the last one finished. */
  run: Run | undefined;
  version: string;
  specHash: string;
  /** The retry annotation's value, if set. */
  retryToken: string | undefined;
}

export type RunDecision =
  | { kind: 'deployed' } // this version with this spec succeeded: nothing to do
  | { kind: 'inProgress'; run: Run } // carry on with the run in progress
  | { kind: 'failedBefore'; run: Run } // failed (or rolled back), and no retry was asked for: report it again
  | { kind: 'start'; retry: boolean }; // a new run (superseding one still in progress, if any)

export function decideRun({ run, version, specHash, retryToken }: RunInput): RunDecision {
  const same = run !== undefined && run.version === version && run.specHash === specHash;
  if (!same) return { kind: 'start', retry: false };
  const retryRequested = retryToken !== undefined && retryToken !== run.retryToken;
  switch (run.result) {
    case 'Succeeded':
      return { kind: 'deployed' };
    case 'Failed':
    case 'RolledBack':
      return retryRequested ? { kind: 'start', retry: true } : { kind: 'failedBefore', run };
    case undefined:
      return { kind: 'inProgress', run };
    case 'Superseded':
      return { kind: 'start', retry: retryRequested };
  }
}
