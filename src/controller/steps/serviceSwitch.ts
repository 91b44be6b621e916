// Blue-green promotion with an active Service: point it at the tested preview Pods while the
// serving Deployment rolls, and point it back once every Pod it selected runs the new version.
// The patches are rendered in render/serviceSwitch.ts; the selector to return to lives on the
// Service itself, so a restart (or the finalizer of a deleted object) always finds it.
import { PatchStrategy, setHeaderOptions, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { EventReason, Reason } from '../../api/v1alpha1/conditions.js';
import type { ModelDeployment } from '../../api/v1alpha1/modelDeployment.js';
import { blueGreenOf } from '../../api/v1alpha1/strategy.js';
import { Stalling, Transient } from '../../runtime/errors.js';
import { isNotFound, isStaleWrite, kubeMessageOf } from '../../runtime/kubeErrors.js';
import type { PipelineDeps, ReconcileContext } from '../context.js';
import { currentReplicaSet } from '../policies/previousImage.js';
import { switchBackOps, switchedFrom, switchToPreviewOps, type Switched } from '../render/serviceSwitch.js';
import { replicaSetsOf } from './replicaSets.js';

/** The active Service, usable for a switch: it exists, selects Pods, and no other object switched it. */
export async function readActiveService(ctx: ReconcileContext, name: string): Promise<V1Service> {
  const namespace = ctx.md.metadata.namespace;
  let service: V1Service;
  try {
    service = await ctx.deps.pipeline.core.readNamespacedService({ namespace, name });
  } catch (err) {
    if (isNotFound(err)) {
      throw new Stalling(
        Reason.ServiceUnusable,
        `Service "${name}" named in spec.strategy.blueGreen.activeService does not exist in namespace "${namespace}"; create it or fix the name`,
      );
    }
    throw err;
  }
  const switched = switchedFrom(service);
  if (switched && switched.modelDeployment !== ctx.md.metadata.name) {
    throw new Stalling(
      Reason.ServiceUnusable,
      `Service "${name}" is switched to the preview of ModelDeployment "${switched.modelDeployment}"; one Service serves one ModelDeployment`,
    );
  }
  if (!switched && Object.keys(service.spec?.selector ?? {}).length === 0) {
    throw new Stalling(
      Reason.ServiceUnusable,
      `Service "${name}" has no selector, so it cannot be switched to the preview; give it one or unset spec.strategy.blueGreen.activeService`,
    );
  }
  return service;
}

/** Points the active Service at the preview Pods, once; the record of it goes to status. */
export async function switchToPreview(
  ctx: ReconcileContext,
  name: string,
  preview: Record<string, string>,
  version: string,
): Promise<void> {
  const service = await readActiveService(ctx, name);
  const status = ctx.status.preview;
  if (status) status.activeService = name;
  if (switchedFrom(service)) return;
  await patchService(
    ctx.deps.pipeline,
    ctx.md.metadata.namespace,
    name,
    switchToPreviewOps(service, ctx.md.metadata.name, preview),
    ctx.deps.fieldManager,
  );
  ctx.log.info({ service: name, version }, 'Switched the active Service to the preview');
  ctx.events.push({
    type: 'Normal',
    reason: EventReason.ServiceSwitched,
    message: `Service "${name}" sends traffic to the tested preview of version ${version} while Deployment rolls`,
  });
}

/** After the serving rollout: switches the active Service back once no Pod it selected belongs to
 * an older ReplicaSet of the serving Deployment. Returns whether it still waits. */
export async function switchBackWhenServed(
  ctx: ReconcileContext,
  name: string,
  serving: V1Deployment,
): Promise<boolean> {
  const namespace = ctx.md.metadata.namespace;
  const service = await ctx.deps.pipeline.core.readNamespacedService({ namespace, name });
  const switched = switchedFrom(service);
  if (!switched || switched.modelDeployment !== ctx.md.metadata.name) return false;
  const sets = await replicaSetsOf(ctx, serving);
  const current = currentReplicaSet(serving, sets)?.metadata?.name;
  const older = new Set(sets.map((rs) => rs.metadata?.name).filter((n) => n !== current));
  const pods = await ctx.deps.pipeline.core.listNamespacedPod({
    namespace,
    labelSelector: Object.entries(switched.selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
  });
  const stale = pods.items.filter(
    (p) => !p.metadata?.deletionTimestamp && p.metadata?.ownerReferences?.some((o) => older.has(o.name)),
  );
  if (stale.length > 0) return true;
  await switchBack(ctx.deps.pipeline, namespace, service, switched, ctx.deps.fieldManager);
  if (ctx.status.preview) delete ctx.status.preview.activeService;
  ctx.events.push({
    type: 'Normal',
    reason: EventReason.ServiceRestored,
    message: `Service "${name}" selects the Pods of Deployment "${serving.metadata?.name}" again`,
  });
  return false;
}

/** Switches back every Service this object switched (recorded in status, or named in the spec
 * when a crash lost the record). Returns whether it patched one. */
export async function restoreActiveService(ctx: ReconcileContext): Promise<boolean> {
  const restored = await restoreServicesOf(
    ctx.deps.pipeline,
    ctx.md,
    ctx.status.preview?.activeService,
    ctx.deps.fieldManager,
  );
  if (ctx.status.preview) delete ctx.status.preview.activeService;
  for (const name of restored) {
    ctx.log.info({ service: name }, 'Switched the active Service back');
    ctx.events.push({
      type: 'Normal',
      reason: EventReason.ServiceRestored,
      message: `Service "${name}" selects what it selected before the preview again`,
    });
  }
  return restored.length > 0;
}

/** The Services `md` switched and that are still switched, put back; returns their names. Used by
 * the steps and by the finalizer of a deleted ModelDeployment. */
export async function restoreServicesOf(
  pipeline: Pick<PipelineDeps, 'core'>,
  md: ModelDeployment,
  recorded: string | undefined,
  fieldManager: string,
): Promise<string[]> {
  const namespace = md.metadata.namespace;
  const names = new Set(
    [recorded, blueGreenOf(md.spec?.strategy)?.activeService].filter((n): n is string => !!n),
  );
  const restored: string[] = [];
  for (const name of names) {
    let service: V1Service;
    try {
      service = await pipeline.core.readNamespacedService({ namespace, name });
    } catch (err) {
      if (isNotFound(err)) continue;
      throw err;
    }
    const switched = switchedFrom(service);
    if (!switched || switched.modelDeployment !== md.metadata.name) continue;
    await switchBack(pipeline, namespace, service, switched, fieldManager);
    restored.push(name);
  }
  return restored;
}

async function switchBack(
  pipeline: Pick<PipelineDeps, 'core'>,
  namespace: string,
  service: V1Service,
  switched: Switched,
  fieldManager: string,
): Promise<void> {
  await patchService(
    pipeline,
    namespace,
    service.metadata?.name ?? '',
    switchBackOps(service, switched),
    fieldManager,
  );
}

async function patchService(
  pipeline: Pick<PipelineDeps, 'core'>,
  namespace: string,
  name: string,
  ops: object[],
  fieldManager: string,
): Promise<void> {
  try {
    await pipeline.core.patchNamespacedService(
      { namespace, name, body: ops, fieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  } catch (err) {
    // Changed between our read and our patch: read it again on the next reconcile.
    if (isStaleWrite(err))
      throw new Transient(Reason.ServiceChanged, `Service "${name}": ${kubeMessageOf(err)}`, { cause: err });
    throw err;
  }
}
