// What approve and retry write, and what they tell the user afterwards. Pure: decisions over the
// object as read (or as the patch returned it).
import { RunResult } from '../api/v1alpha1/conditions.js';
import {
  APPROVE_ANNOTATION,
  RETRY_ANNOTATION,
  type ModelDeployment,
} from '../api/v1alpha1/modelDeployment.js';

/** The version approve writes: the one given, else the one the run waits for. No guard against a
 * run that changes between our read and the patch is needed: the annotation names a version, and
 * the operator lets only the run of that version go on. */
export function versionToApprove(
  md: ModelDeployment | undefined,
  name: string,
  given: string | undefined,
): { version: string } | { error: string } {
  if (given !== undefined) return { version: given };
  const phase = md?.status?.phase;
  const waiting = md?.status?.currentRun?.version;
  if (phase === 'AwaitingApproval' && waiting !== undefined) return { version: waiting };
  return {
    error: `${name} is not waiting for approval (phase ${phase ?? 'none yet'}); give the version to approve`,
  };
}

export function approvedText(md: ModelDeployment, version: string): string {
  const lines = [
    `modeldeployment/${md.metadata.name} approved version ${version} (${APPROVE_ANNOTATION}=${version})`,
  ];
  const status = md.status;
  const waiting = status?.phase === 'AwaitingApproval' ? status.currentRun?.version : undefined;
  if (waiting !== undefined && waiting !== version)
    lines.push(
      `note: the run in progress waits for version ${waiting}; this approves only version ${version}`,
    );
  else if (!md.spec.approval?.required)
    lines.push('note: spec.approval.required is not true: no run waits for approval');
  return lines.join('\n') + '\n';
}

export function retriedText(md: ModelDeployment, token: string): string {
  const lines = [`modeldeployment/${md.metadata.name} retry requested (${RETRY_ANNOTATION}=${token})`];
  const run = md.status?.currentRun;
  // The operator answers a retry only for a run that failed or was rolled back.
  if (run && run.result !== RunResult.Failed && run.result !== RunResult.RolledBack) {
    const where = run.result === undefined ? 'is in progress' : `ended ${run.result}`;
    lines.push(
      `note: the run of version ${run.version} ${where}; a retry starts a new run only after a failed one`,
    );
  }
  return lines.join('\n') + '\n';
}
