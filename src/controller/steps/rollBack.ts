// After a run failed having changed the serving container: put the container back on the stable
// version (its image and the env the operator manages) with one guarded patch, wait for that
// rollout, and file the run as RolledBack. The decision is written to status before the patch
// (startRollback returns a wait), so a restarted operator finishes the rollback instead of
// rolling the failed version out again; and a container that already matches is not patched,
// so a restart at any instant patches once.
import { ConditionType, Reason, RunResult } from '../../api/v1alpha1/conditions.js';
import type { Stable } from '../../api/v1alpha1/pipeline.js';
import { markStep, wait, type ReconcileContext, type Stop } from '../context.js';
import { planRollback } from '../policies/rollbackPlan.js';
import { containerPatch, servingEnv } from '../render/containerPatch.js';
import { finishRun, recordServing, RunFailed } from '../run.js';
import { ensureClaim } from './claimTarget.js';
import type { RunPlan } from './planRun.js';
import { containerNotFound, judgeServing, patchContainer, readServing } from './rollout.js';

const ROLLBACK_POLL_MS = 2000;

/** A run failed in its rollout or tests: decide the rollback and record it (no patch yet), or
 * throw the failure, saying in it why nothing is rolled back. */
export function startRollback(ctx: ReconcileContext, plan: RunPlan, failure: RunFailed): Stop {
  const { run, deployment } = plan;
  const decision = planRollback({
    enabled: ctx.spec.rollback?.onFailure ?? true,
    touchedContainer: ctx.status.rollout?.version === run.version,
    stable: ctx.status.stable,
    failedVersion: run.version,
    deployment: deployment.name,
  });
  if (decision.kind === 'leave') {
    throw decision.note ? new RunFailed(failure.reason, `${failure.message}; ${decision.note}`) : failure;
  }
  const current = ctx.status.currentRun ?? run;
  ctx.status.currentRun = {
    ...current,
    reason: failure.reason,
    message: failure.message,
    rollback: { toVersion: decision.to.version, startedAt: ctx.now.toISOString() },
  };
  ctx.phase = 'RollingBack';
  const message = rollingBackMessage(plan, failure.reason, decision.to);
  markStep(ctx, ConditionType.RolledBack)('False', Reason.RollingBack, message);
  ctx.log.warn({ version: run.version, reason: failure.reason, to: decision.to.version }, 'Rolling back');
  // Our own status write does not wake the object: the short wait brings the patch.
  return wait(Reason.RollingBack, message, ROLLBACK_POLL_MS);
}

/** Carries out the rollback startRollback recorded. */
export async function rollBack(ctx: ReconcileContext, plan: RunPlan): Promise<Stop> {
  ctx.phase = 'RollingBack';
  const { run, deployment: target, model } = plan;
  const mark = markStep(ctx, ConditionType.RolledBack);
  const stable = ctx.status.stable;
  const reason = run.reason ?? Reason.RunFailed;
  if (!stable || stable.version !== run.rollback?.toVersion) {
    // Only a hand-edited status gets here: there is nothing known to return to.
    return failRollback(
      ctx,
      plan,
      `the stable version ${run.rollback?.toVersion} is no longer recorded in status.stable`,
    );
  }
  const deployment = await ensureClaim(ctx, target, await readServing(ctx, target));
  // Variables only the failed run set go; the stable version's come back.
  const failedEnv = Object.keys(servingEnv(target.env, model));
  const unset = failedEnv.filter((name) => !Object.hasOwn(stable.env, name));
  const change = containerPatch(deployment, {
    container: target.container,
    image: stable.image,
    env: stable.env,
    unset,
  });
  if (change.kind === 'missingContainer') throw containerNotFound(target, change.containers);
  const message = rollingBackMessage(plan, reason, stable);
  if (change.kind === 'patch') {
    await patchContainer(ctx, target, change.ops);
    ctx.log.warn({ version: run.version, to: stable.version, image: stable.image }, 'Patched the rollback');
    mark('False', Reason.RollingBack, message);
    return wait(Reason.RollingBack, message, ROLLBACK_POLL_MS);
  }
  // The decision came after the failed rollout's verdict and before our patch.
  const decidedAt = new Date(run.rollback?.startedAt ?? ctx.now.toISOString());
  const verdict = await judgeServing(ctx, deployment, target, decidedAt);
  switch (verdict.kind) {
    case 'progressing':
      mark('False', Reason.RollingBack, `${message}: ${verdict.message}`);
      return wait(Reason.RollingBack, `${message}: ${verdict.message}`, ROLLBACK_POLL_MS);
    case 'failed':
      return failRollback(ctx, plan, verdict.message);
    case 'done': {
      const done = `version ${run.version} failed (${reason}): ${run.message ?? ''}; rolled back to version ${stable.version}`;
      mark('True', Reason.RolledBack, `Deployment "${target.name}" runs version ${stable.version} again`);
      recordServing(ctx, stable.version, stable.image);
      finishRun(ctx, RunResult.RolledBack, reason, done);
      ctx.rollbacks.push({ reason, result: 'succeeded' });
      throw new RunFailed(Reason.RolledBack, done, true);
    }
  }
}

function rollingBackMessage(plan: RunPlan, reason: string, to: Stable): string {
  return `version ${plan.run.version} failed (${reason}); rolling Deployment "${plan.deployment.name}" back to version ${to.version}`;
}

/** The rollback did not finish: leave the Deployment for a person, and say what to look at. */
function failRollback(ctx: ReconcileContext, plan: RunPlan, why: string): never {
  const { run, deployment: target } = plan;
  const message =
    `version ${run.version} failed (${run.reason ?? Reason.RunFailed}), and rolling Deployment "${target.name}" ` +
    `back to version ${run.rollback?.toVersion} failed: ${why}; the Deployment is left as it is: see why its ` +
    `Pods do not become ready (kubectl describe deployment ${target.name}), or point the followed alias or ` +
    `stage at a version that works`;
  markStep(ctx, ConditionType.RolledBack)('False', Reason.RollbackFailed, message);
  finishRun(ctx, RunResult.Failed, Reason.RollbackFailed, message);
  ctx.rollbacks.push({ reason: run.reason ?? Reason.RunFailed, result: 'failed' });
  throw new RunFailed(Reason.RollbackFailed, message);
}
