// One ModelDeployment per serving container. Before anything is built or patched, the
// ModelDeployment claims its container with an annotation on the serving Deployment, written
// with a resourceVersion precondition so two racing objects cannot both win; a second object
// stalls naming the first. A finalizer releases the claim when the owner is deleted.
import { PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { Reason } from '../../api/v1alpha1/conditions.js';
import type { ModelDeployment } from '../../api/v1alpha1/modelDeployment.js';
import type { DeploymentTarget } from '../../api/v1alpha1/pipeline.js';
import { CLAIM_FINALIZER, claimAnnotation, pointerSegment } from '../../children/names.js';
import { Stalling, Transient } from '../../runtime/errors.js';
import { isNotFound, isPatchTestFailure, isStaleWrite, kubeMessageOf } from '../../runtime/kubeErrors.js';
import { next, type ReconcileContext, type ReconcilerDeps, type StepResult } from '../context.js';
import { judgeClaim } from '../policies/claim.js';
import type { RunPlan } from './planRun.js';
import { restoreServicesOf } from './serviceSwitch.js';

/** Step 2b of a run: claim the container before the build. A Deployment (or container) that
 * does not exist yet has nothing to claim: the rollout claims it, or stalls on it. Hands on the
 * Deployment as the claim left it, so a rollout in the same reconcile need not read it again. */
export async function claimTarget(
  ctx: ReconcileContext,
  plan: RunPlan,
): Promise<StepResult<V1Deployment | undefined>> {
  const { deployment: target } = plan;
  let deployment: V1Deployment;
  try {
    deployment = await ctx.deps.pipeline.apps.readNamespacedDeployment({
      namespace: ctx.md.metadata.namespace,
      name: target.name,
    });
  } catch (err) {
    if (isNotFound(err)) return next(undefined);
    throw err;
  }
  // No such container: nothing to claim; the rollout stalls on it as it always did.
  if (!deployment.spec?.template?.spec?.containers.some((c) => c.name === target.container))
    return next(undefined);
  return next(await ensureClaim(ctx, target, deployment));
}

/** Makes sure the container of `deployment` is claimed by us: stalls if another object holds
 * it, otherwise adds our finalizer and then the annotation (no claim without a finalizer to
 * release it). Returns the Deployment as it now is. */
export async function ensureClaim(
  ctx: ReconcileContext,
  target: DeploymentTarget,
  deployment: V1Deployment,
): Promise<V1Deployment> {
  const { md } = ctx;
  const key = claimAnnotation(target.container);
  const holder = deployment.metadata?.annotations?.[key];
  const holderMd =
    holder && holder !== md.metadata.name ? ctx.deps.get(`${md.metadata.namespace}/${holder}`) : undefined;
  const decision = judgeClaim({
    self: md.metadata.name,
    target,
    holder,
    holderTarget: holderMd && !holderMd.metadata.deletionTimestamp ? holderMd.spec?.deployment : undefined,
  });
  if (decision.kind === 'taken') {
    throw new Stalling(
      Reason.TargetClaimed,
      `container "${target.container}" of Deployment "${target.name}" is managed by ModelDeployment ` +
        `"${decision.holder}" (annotation ${key}); delete that ModelDeployment or point spec.deployment at another container`,
    );
  }
  await ensureFinalizer(ctx);
  if (decision.kind === 'ours') return deployment;

  const annotations = deployment.metadata?.annotations;
  const rv = deployment.metadata?.resourceVersion;
  const ops = [
    ...(rv !== undefined ? [{ op: 'test', path: '/metadata/resourceVersion', value: rv }] : []),
    annotations
      ? { op: 'add', path: `/metadata/annotations/${pointerSegment(key)}`, value: md.metadata.name }
      : { op: 'add', path: '/metadata/annotations', value: { [key]: md.metadata.name } },
  ];
  let claimed: V1Deployment;
  try {
    claimed = await ctx.deps.pipeline.apps.patchNamespacedDeployment(
      { namespace: md.metadata.namespace, name: target.name, body: ops, fieldManager: ctx.deps.fieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  } catch (err) {
    // Someone wrote the Deployment since we read it (perhaps a racing claim): look again.
    if (isStaleWrite(err))
      throw new Transient(Reason.DeploymentChanged, `claiming the container: ${kubeMessageOf(err)}`, {
        cause: err,
      });
    throw err;
  }
  ctx.log.info(
    { deployment: target.name, container: target.container, staleHolder: decision.staleHolder },
    'Claimed serving container',
  );
  return claimed;
}

async function ensureFinalizer(ctx: ReconcileContext): Promise<void> {
  const { metadata } = ctx.md;
  const finalizers = metadata.finalizers;
  if (finalizers?.includes(CLAIM_FINALIZER)) return;
  const ops = [
    { op: 'test', path: '/metadata/resourceVersion', value: metadata.resourceVersion },
    finalizers
      ? { op: 'add', path: '/metadata/finalizers/-', value: CLAIM_FINALIZER }
      : { op: 'add', path: '/metadata/finalizers', value: [CLAIM_FINALIZER] },
  ];
  let updated: ModelDeployment;
  try {
    updated = await ctx.deps.modelDeployments.patchMetadata(metadata.namespace, metadata.name, ops);
  } catch (err) {
    if (isStaleWrite(err))
      throw new Transient(Reason.ReconcileError, `adding the finalizer: ${kubeMessageOf(err)}`, {
        cause: err,
      });
    throw err;
  }
  // The status write at the end carries this resourceVersion as its precondition.
  ctx.md = {
    ...ctx.md,
    metadata: {
      ...metadata,
      resourceVersion: updated.metadata.resourceVersion,
      finalizers: updated.metadata.finalizers,
    },
  };
}

/** The deletion of a ModelDeployment holding our finalizer: remove the claim if it still names
 * it, then the finalizer. A Deployment that is gone never blocks the deletion. */
export async function releaseClaim(deps: ReconcilerDeps, md: ModelDeployment): Promise<void> {
  const { namespace, name, finalizers } = md.metadata;
  const index = finalizers?.indexOf(CLAIM_FINALIZER) ?? -1;
  if (index < 0) return;
  // A Service switched to the preview goes back before the preview is garbage-collected with us.
  await restoreServicesOf(deps.pipeline, md, md.status?.preview?.activeService, deps.fieldManager);
  const target = md.spec?.deployment;
  if (target) {
    const key = claimAnnotation(target.container);
    try {
      const deployment = await deps.pipeline.apps.readNamespacedDeployment({ namespace, name: target.name });
      if (deployment.metadata?.annotations?.[key] === name) {
        const path = `/metadata/annotations/${pointerSegment(key)}`;
        await deps.pipeline.apps.patchNamespacedDeployment(
          {
            namespace,
            name: target.name,
            body: [
              { op: 'test', path, value: name },
              { op: 'remove', path },
            ],
            fieldManager: deps.fieldManager,
          },
          setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
        );
      }
    } catch (err) {
      // Gone, or the claim no longer names us (a failed test): nothing of ours to remove.
      if (!isNotFound(err) && !isPatchTestFailure(err)) throw err;
    }
  }
  try {
    await deps.modelDeployments.patchMetadata(namespace, name, [
      { op: 'test', path: `/metadata/finalizers/${index}`, value: CLAIM_FINALIZER },
      { op: 'remove', path: `/metadata/finalizers/${index}` },
    ]);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  deps.log.info({ modeldeployment: `${namespace}/${name}` }, 'Released serving container claim');
}
