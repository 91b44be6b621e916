// After build and scan, before the serving Deployment is touched: with spec.approval.required
// the run waits until the approve annotation names its version. A value for another version
// never approves this one; a new version starts a new run, which waits for its own approval.
// Once given, the approval holds for the rest of the run (the Approved condition, which a new
// run clears), so rewriting the annotation for a later version cannot stop a rollout midway.
import { ConditionType, Reason } from '../../api/v1alpha1/conditions.js';
import { APPROVE_ANNOTATION } from '../../api/v1alpha1/modelDeployment.js';
import { isTrue } from '../../runtime/conditions.js';
import { parseDurationMs } from '../../runtime/duration.js';
import { markStep, next, wait, type ReconcileContext, type StepResult } from '../context.js';
import type { RunPlan } from './planRun.js';

/** `alsoRequired`: a strategy asks for approval too (blue-green without autoPromote). */
export function awaitApproval(ctx: ReconcileContext, plan: RunPlan, alsoRequired = false): StepResult<void> {
  const { status, md, spec } = ctx;
  const { run, model } = plan;
  const required = spec.approval?.required === true || alsoRequired;
  if (!required || isTrue(status.conditions, ConditionType.Approved)) return next(undefined);
  const mark = markStep(ctx, ConditionType.Approved);
  const given = md.metadata.annotations?.[APPROVE_ANNOTATION];
  if (given === run.version) {
    mark('True', Reason.Approved, `version ${run.version} approved (annotation ${APPROVE_ANNOTATION})`);
    ctx.log.info({ version: run.version }, 'Approved');
    ctx.gates.push({ gate: 'approval', result: 'approved' });
    return next(undefined);
  }
  ctx.phase = 'AwaitingApproval';
  const other = given === undefined ? '' : ` (the annotation names version ${given})`;
  const message =
    `version ${run.version} of "${model.name}" waits for approval${other}: ` +
    `kubectl annotate --overwrite modeldeployment ${md.metadata.name} -n ${md.metadata.namespace} ` +
    `${APPROVE_ANNOTATION}=${run.version}`;
  mark('False', Reason.AwaitingApproval, message);
  // The annotation's change wakes the object; the wait keeps polling MLflow for a newer version.
  return wait(Reason.AwaitingApproval, message, parseDurationMs(spec.model.pollInterval));
}
