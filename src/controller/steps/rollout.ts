// Step 4: point the serving container at the image by digest and pin the model version in its
// env, then judge the rollout with kubectl's rules (and fail it early when its Pods crash-loop). The patch touches one container only, and a
// container that already matches is not patched again: a restarted operator never rolls the
// same version twice.
import { PatchStrategy, setHeaderOptions, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { ConditionType, EventReason, Reason } from '../../api/v1alpha1/conditions.js';
import type { DeploymentTarget } from '../../api/v1alpha1/pipeline.js';
import { isTrue } from '../../runtime/conditions.js';
import { Stalling, Transient } from '../../runtime/errors.js';
import { isNotFound, isStaleWrite, kubeMessageOf } from '../../runtime/kubeErrors.js';
import { markStep, next, observeStep, wait, type ReconcileContext, type StepResult } from '../context.js';
import { judgeCrashLoop } from '../policies/crashLoop.js';
import { judgeRollout, type RolloutVerdict } from '../policies/judgeRollout.js';
import {
  currentReplicaSet,
  POD_TEMPLATE_HASH_LABEL,
  previousImageOf,
  REVISION_ANNOTATION,
} from '../policies/previousImage.js';
import { containerPatch, servingEnv } from '../render/containerPatch.js';
import { ensureClaim } from './claimTarget.js';
import { recordServing, RunFailed } from '../run.js';
import type { ServingImage } from './ensureImage.js';
import type { RunPlan } from './planRun.js';
import { replicaSetsOf, selectorOf } from './replicaSets.js';

const ROLLOUT_POLL_MS = 2000;

/** What the rollout left running: the container's image, and the Deployment's revision (a
 * rollback to the same image gets a new one, and so a test Job of its own). */
export interface RolledOut {
  image: string;
  revision: string | undefined;
  /** The Service the tests reach it through; the serving Deployment's namesake by default. */
  service?: string;
}

export async function rollout(
  ctx: ReconcileContext,
  plan: RunPlan,
  serving: ServingImage,
  /** The Deployment as claimTarget read (and claimed) it in this reconcile, if it did. */
  claimed?: V1Deployment,
): Promise<StepResult<RolledOut>> {
  ctx.phase = 'Deploying';
  const { status } = ctx;
  const { model, deployment: target } = plan;
  const mark = markStep(ctx, ConditionType.Deployed);

  const deployment = claimed ?? (await readServing(ctx, target));

  const env = servingEnv(target.env, model);
  const change = containerPatch(deployment, { container: target.container, image: serving.ref, env });
  if (change.kind === 'missingContainer') throw containerNotFound(target, change.containers);
  if (change.kind === 'patch') {
    // Not ours (another ModelDeployment claimed the container meanwhile)? Stall before patching.
    await ensureClaim(ctx, target, deployment);
    await patchContainer(ctx, target, change.ops);
    status.rollout = {
      version: model.version,
      image: change.image,
      ...(change.previousImage ? { previousImage: change.previousImage } : {}),
      startedAt: ctx.now.toISOString(),
    };
    mark('False', Reason.RollingOut, `rolling "${target.name}" to version ${model.version}`);
    ctx.events.push({
      type: 'Normal',
      reason: EventReason.RolloutStarted,
      message: `Rolling Deployment "${target.name}" to version ${model.version}${serving.ref ? ` (${serving.ref})` : ''}`,
    });
    return wait(Reason.RollingOut, `rolling out version ${model.version}`, ROLLOUT_POLL_MS);
  }
  // Already matching: patched by an earlier reconcile (perhaps of a process that died before
  // writing status). The previous image comes from the ReplicaSets, not from memory.
  if (status.rollout?.version !== model.version) {
    const rs = await replicaSetsOf(ctx, deployment);
    const previousImage = previousImageOf(deployment, rs, target.container, change.image);
    status.rollout = {
      version: model.version,
      image: change.image,
      ...(previousImage ? { previousImage } : {}),
      startedAt: ctx.now.toISOString(),
    };
    ctx.events.push({
      type: 'Normal',
      reason: EventReason.RolloutStarted,
      message: `Deployment "${target.name}" already runs version ${model.version}`,
    });
  }

  ctx.phase = 'Verifying';
  const verdict = await judgeServing(ctx, deployment, target, new Date(status.rollout.startedAt));
  switch (verdict.kind) {
    case 'progressing':
      mark('False', Reason.RollingOut, verdict.message);
      return wait(Reason.RollingOut, verdict.message, ROLLOUT_POLL_MS);
    case 'failed':
      observeStep(ctx, 'rollout', 'failed', status.rollout.startedAt);
      mark('False', verdict.reason, verdict.message);
      throw new RunFailed(verdict.reason, verdict.message);
    case 'done':
      if (!isTrue(status.conditions, ConditionType.Deployed)) {
        observeStep(ctx, 'rollout', 'succeeded', status.rollout.startedAt);
      }
      mark('True', Reason.RolledOut, verdict.message);
      recordServing(ctx, model.version, status.rollout.image ?? change.image);
      return next({
        image: status.rollout.image ?? change.image,
        revision: deployment.metadata?.annotations?.[REVISION_ANNOTATION],
      });
  }
}

/** kubectl's verdict on the rollout, failed early when the new Pods crash-loop. */
export async function judgeServing(
  ctx: ReconcileContext,
  deployment: V1Deployment,
  target: DeploymentTarget,
  /** When our patch started this rollout (see judgeRollout). */
  since: Date,
): Promise<RolloutVerdict> {
  const verdict = judgeRollout(deployment, { since, now: ctx.now });
  // Before the controller observed the patch, its current ReplicaSet is still the old one.
  if (verdict.kind !== 'progressing' || !observed(deployment)) return verdict;
  const crash = judgeCrashLoop(await newPods(ctx, deployment), target.container, target.maxRestarts);
  if (!crash) return verdict;
  return {
    kind: 'failed',
    reason: Reason.CrashLooping,
    message: `Deployment "${target.name}" is crash-looping: ${crash}`,
  };
}

const observed = (d: V1Deployment) => (d.metadata?.generation ?? 0) <= (d.status?.observedGeneration ?? 0);

/** The Pods of the Deployment's current ReplicaSet: the ones the rollout waits for. */
async function newPods(ctx: ReconcileContext, deployment: V1Deployment): Promise<V1Pod[]> {
  const current = currentReplicaSet(deployment, await replicaSetsOf(ctx, deployment));
  const hash = current?.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL];
  if (!hash) return [];
  const pods = await ctx.deps.pipeline.core.listNamespacedPod({
    namespace: ctx.md.metadata.namespace,
    labelSelector: [...selectorOf(deployment), `${POD_TEMPLATE_HASH_LABEL}=${hash}`].join(','),
  });
  return pods.items;
}

/** The serving Deployment, live; missing stalls. */
export async function readServing(ctx: ReconcileContext, target: DeploymentTarget): Promise<V1Deployment> {
  const namespace = ctx.md.metadata.namespace;
  try {
    return await ctx.deps.pipeline.apps.readNamespacedDeployment({ namespace, name: target.name });
  } catch (err) {
    if (isNotFound(err)) {
      throw new Stalling(
        Reason.DeploymentNotFound,
        `Deployment "${target.name}" not found in namespace "${namespace}"; create it or fix spec.deployment.name`,
      );
    }
    throw err;
  }
}

export const containerNotFound = (target: DeploymentTarget, containers: string[]) =>
  new Stalling(
    Reason.ContainerNotFound,
    `Deployment "${target.name}" has no container "${target.container}" (it has ${containers.join(', ') || 'none'}); fix spec.deployment.container`,
  );

/** The guarded JSON patch of the serving container (containerPatch's ops). */
export async function patchContainer(
  ctx: ReconcileContext,
  target: DeploymentTarget,
  ops: object[],
): Promise<void> {
  try {
    await ctx.deps.pipeline.apps.patchNamespacedDeployment(
      {
        namespace: ctx.md.metadata.namespace,
        name: target.name,
        body: ops,
        fieldManager: ctx.deps.fieldManager,
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  } catch (err) {
    // 409, or 422 from a failed `test` op: the Deployment changed under us; read it again.
    // Any other 422 refuses the patched object itself and stalls (reconciler's fromError).
    if (isStaleWrite(err)) throw new Transient(Reason.DeploymentChanged, kubeMessageOf(err), { cause: err });
    throw err;
  }
}
