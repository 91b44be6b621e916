// After a run succeeded: the serving container must still be what the run left. Drift of its
// image or of the env the operator manages (someone's `kubectl set image`, a GitOps sync) is
// shown as Ready=False reason Drift and, unless driftPolicy is Report, put back with one guarded
// patch and a Warning Event. No new run: no build, no test Job.
import type { V1Deployment } from '@kubernetes/client-node';
import { ConditionType, EventReason, Reason, RunResult } from '../../api/v1alpha1/conditions.js';
import type { ResolvedModel } from '../../api/v1alpha1/modelDeployment.js';
import type { DeploymentTarget } from '../../api/v1alpha1/pipeline.js';
import { findCondition } from '../../runtime/conditions.js';
import { Stalling } from '../../runtime/errors.js';
import { wait, type ReconcileContext, type Stop } from '../context.js';
import { judgeDrift } from '../policies/drift.js';
import { judgeRollout } from '../policies/judgeRollout.js';
import { servingEnv } from '../render/containerPatch.js';
import { recordStable } from '../run.js';
import { ensureClaim } from './claimTarget.js';
import type { Deployed } from './planRun.js';
import { containerNotFound, patchContainer, readServing } from './rollout.js';

const HEAL_POLL_MS = 2000;

export async function keepDeployed(
  ctx: ReconcileContext,
  { model, deployment: target }: Deployed,
): Promise<Stop> {
  const deployment = await ensureClaim(ctx, target, await readServing(ctx, target));
  const verdict = judgeDrift(deployment, {
    container: target.container,
    ...(ctx.status.rollout?.image ? { image: ctx.status.rollout.image } : {}),
    env: servingEnv(target.env, model),
  });
  switch (verdict.kind) {
    case 'missingContainer':
      throw containerNotFound(target, verdict.containers);
    case 'none': {
      recordAdopted(ctx, model, target, deployment);
      // Put back a moment ago: Ready once the Deployment has rolled back to it.
      const healing = findCondition(ctx.status.conditions, ConditionType.Ready)?.reason === Reason.Drift;
      const rolled = judgeRollout(deployment);
      if (healing && rolled.kind === 'progressing') {
        ctx.phase = 'Verifying';
        return wait(Reason.Drift, `container put back; ${rolled.message}`, HEAL_POLL_MS);
      }
      return { kind: 'done' };
    }
    case 'drift':
      if (target.driftPolicy === 'Report') {
        throw new Stalling(
          Reason.Drift,
          `${verdict.message}; driftPolicy is Report: put the container back or set spec.deployment.driftPolicy to Heal`,
        );
      }
      ctx.phase = 'Deploying';
      await patchContainer(ctx, target, verdict.ops);
      ctx.log.warn(
        { live: verdict.liveImage, expected: verdict.expectedImage, env: verdict.envNames },
        'Put back drifted serving container',
      );
      ctx.events.push({
        type: 'Warning',
        reason: EventReason.DriftCorrected,
        message: `Put back ${verdict.message}`,
      });
      return wait(Reason.Drift, `${verdict.message}; putting it back`, HEAL_POLL_MS);
  }
}

/** Objects whose last run succeeded before status.serving and status.stable existed get them
 * from the container, which matches that run (no drift). */
function recordAdopted(
  ctx: ReconcileContext,
  model: ResolvedModel,
  target: DeploymentTarget,
  deployment: V1Deployment,
): void {
  const { status } = ctx;
  const run = status.currentRun;
  if (status.stable || run?.result !== RunResult.Succeeded || run.version !== model.version) return;
  const image = deployment.spec?.template?.spec?.containers.find((c) => c.name === target.container)?.image;
  if (!image) return;
  const since = run.finishedAt ?? ctx.now.toISOString();
  recordStable(ctx, model.version, image, servingEnv(target.env, model), since);
  status.serving ??= { version: model.version, image, since };
}
