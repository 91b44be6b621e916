// The life of a Deployment a progressive strategy runs beside the serving one (the blue-green
// preview, the canary) and of its Service: render it from the serving Deployment, create or
// replace it when what it was rendered from changed, and remove it. Fixed names per object and
// role, so a restarted operator finds the one it made and there is never a second one.
import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { EventReason, Reason } from '../../api/v1alpha1/conditions.js';
import type { ServingImage } from './ensureImage.js';
import { Stalling } from '../../runtime/errors.js';
import { isConflict, isNotFound } from '../../runtime/kubeErrors.js';
import type { ReconcileContext } from '../context.js';
import { servingEnv } from '../render/containerPatch.js';
import {
  renderSideDeployment,
  SIDE_HASH_ANNOTATION,
  type SideDeployment,
  type SideRole,
} from '../render/sideDeployment.js';
import type { RunPlan } from './planRun.js';
import { containerNotFound } from './rollout.js';

/** Renders the side Deployment of the run's version from the serving Deployment; stalls when the
 * container is missing or its Service would have no port. */
export function renderSide(
  ctx: ReconcileContext,
  role: SideRole,
  plan: RunPlan,
  image: ServingImage,
  serving: V1Deployment,
  replicas: number,
  userService: V1Service | undefined,
): SideDeployment {
  const { model, deployment: target } = plan;
  const containers = serving.spec?.template?.spec?.containers ?? [];
  if (!containers.some((c) => c.name === target.container))
    throw containerNotFound(
      target,
      containers.map((c) => c.name),
    );
  const side = renderSideDeployment({
    role,
    md: ctx.md,
    serving,
    container: target.container,
    image: image.ref,
    env: servingEnv(target.env, model),
    version: model.version,
    replicas,
    userService,
  });
  if (!side.service.spec?.ports?.length) {
    throw new Stalling(
      Reason.ServiceUnusable,
      `the ${role} Service needs a port: create a Service named "${target.name}" (or set ` +
        `spec.strategy.blueGreen.activeService), or declare a containerPort on container "${target.container}"`,
    );
  }
  return side;
}

/** Creates the side Deployment and its Service, or replaces what differs from the rendering.
 * `beforeChange` runs before an existing Deployment is replaced (blue-green switches a Service
 * back there); returning true stops, to look again. */
export async function applySide(
  ctx: ReconcileContext,
  side: SideDeployment,
  beforeChange: () => Promise<boolean> = async () => false,
): Promise<V1Deployment | undefined> {
  const { apps } = ctx.deps.pipeline;
  const namespace = ctx.md.metadata.namespace;
  const { name } = side.deployment.metadata;
  const found = await readDeployment(ctx, name);
  let live: V1Deployment;
  const wanted = side.deployment.metadata.annotations?.[SIDE_HASH_ANNOTATION];
  if (found && found.metadata?.annotations?.[SIDE_HASH_ANNOTATION] === wanted) {
    live = found;
  } else {
    if (await beforeChange()) return undefined;
    live = found
      ? await apps.replaceNamespacedDeployment({
          namespace,
          name,
          body: {
            ...side.deployment,
            metadata: { ...side.deployment.metadata, resourceVersion: found.metadata?.resourceVersion },
          },
          fieldManager: ctx.deps.fieldManager,
        })
      : await createDeployment(ctx, side.deployment);
  }
  await applyService(ctx, side.service);
  return live;
}

/** Deletes a side Deployment and its Service; what is gone already is fine. */
export async function removeSide(ctx: ReconcileContext, role: SideRole, name: string): Promise<void> {
  const namespace = ctx.md.metadata.namespace;
  const { apps, core } = ctx.deps.pipeline;
  await ignoreNotFound(apps.deleteNamespacedDeployment({ namespace, name, propagationPolicy: 'Background' }));
  await ignoreNotFound(core.deleteNamespacedService({ namespace, name }));
  ctx.events.push({
    type: 'Normal',
    reason: role === 'preview' ? EventReason.PreviewRemoved : EventReason.CanaryRemoved,
    message: `Removed ${role} Deployment and Service "${name}"`,
  });
}

/** The Service named like the serving Deployment, if there is one: whose ports a side Service
 * copies when no active Service is named. */
export async function readNamesakeService(
  ctx: ReconcileContext,
  name: string,
): Promise<V1Service | undefined> {
  try {
    return await ctx.deps.pipeline.core.readNamespacedService({ namespace: ctx.md.metadata.namespace, name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function readDeployment(ctx: ReconcileContext, name: string): Promise<V1Deployment | undefined> {
  try {
    return await ctx.deps.pipeline.apps.readNamespacedDeployment({
      namespace: ctx.md.metadata.namespace,
      name,
    });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function createDeployment(ctx: ReconcileContext, body: V1Deployment & { metadata: { name: string } }) {
  const namespace = ctx.md.metadata.namespace;
  try {
    return await ctx.deps.pipeline.apps.createNamespacedDeployment({
      namespace,
      body,
      fieldManager: ctx.deps.fieldManager,
    });
  } catch (err) {
    if (!isConflict(err)) throw err;
    // Made meanwhile (a read from a lagging cache): the next reconcile compares it.
    return ctx.deps.pipeline.apps.readNamespacedDeployment({ namespace, name: body.metadata.name });
  }
}

async function applyService(ctx: ReconcileContext, body: V1Service & { metadata: { name: string } }) {
  const namespace = ctx.md.metadata.namespace;
  const { core } = ctx.deps.pipeline;
  const name = body.metadata.name;
  const live = await readNamesakeService(ctx, name);
  const wanted = body.metadata.annotations?.[SIDE_HASH_ANNOTATION];
  if (live?.metadata?.annotations?.[SIDE_HASH_ANNOTATION] === wanted) return;
  if (!live) {
    try {
      await core.createNamespacedService({ namespace, body, fieldManager: ctx.deps.fieldManager });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    return;
  }
  // A replace keeps what the apiserver allocated (clusterIP) only when the body carries it.
  const spec = { ...live.spec, selector: body.spec?.selector, ports: body.spec?.ports };
  await core.replaceNamespacedService({
    namespace,
    name,
    body: { ...body, metadata: { ...body.metadata, resourceVersion: live.metadata?.resourceVersion }, spec },
    fieldManager: ctx.deps.fieldManager,
  });
}

async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
