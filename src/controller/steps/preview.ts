// Blue-green's preview: the run's version in a Deployment no user Service selects, judged with the
// rollout rules; once available, the tests run against its Service.
import type { V1Deployment } from '@kubernetes/client-node';
import { ConditionType, EventReason, Reason } from '../../api/v1alpha1/conditions.js';
import type { BlueGreenSpec } from '../../api/v1alpha1/strategy.js';
import { markStep, next, observeStep, wait, type ReconcileContext, type StepResult } from '../context.js';
import { REVISION_ANNOTATION } from '../policies/previousImage.js';
import { RunFailed } from '../run.js';
import type { ServingImage } from './ensureImage.js';
import type { RunPlan } from './planRun.js';
import { judgeServing, readServing, type RolledOut } from './rollout.js';
import { readActiveService, restoreActiveService } from './serviceSwitch.js';
import { applySide, readNamesakeService, removeSide, renderSide } from './sideDeployments.js';

const PREVIEW_POLL_MS = 2000;
const RESTORED_POLL_MS = 500;

/** The preview of the run's version, available: what the tests run against. */
export async function ensurePreview(
  ctx: ReconcileContext,
  plan: RunPlan,
  image: ServingImage,
  blueGreen: BlueGreenSpec,
  claimed: V1Deployment | undefined,
): Promise<StepResult<RolledOut>> {
  ctx.phase = 'Previewing';
  const { model, deployment: target } = plan;
  const mark = markStep(ctx, ConditionType.Previewed);
  const serving = claimed ?? (await readServing(ctx, target));
  const userService = blueGreen.activeService
    ? await readActiveService(ctx, blueGreen.activeService)
    : await readNamesakeService(ctx, target.name);
  const replicas = blueGreen.previewReplicas ?? Math.max(1, serving.spec?.replicas ?? 1);
  const preview = renderSide(ctx, 'preview', plan, image, serving, replicas, userService);
  const { name } = preview.deployment.metadata;
  // Users may reach the preview Pods only once they passed their tests: a Service still switched
  // to them (a run superseded mid-promotion) goes back before they change.
  const live = await applySide(ctx, preview, () => restoreActiveService(ctx));
  if (!live) return wait(Reason.PreviewStarting, 'switched the active Service back', RESTORED_POLL_MS);
  if (ctx.status.preview?.version !== model.version || ctx.status.preview.name !== name) {
    ctx.status.preview = { version: model.version, name, startedAt: ctx.now.toISOString() };
    ctx.events.push({
      type: 'Normal',
      reason: EventReason.PreviewStarted,
      message: `Started preview Deployment and Service "${name}" for version ${model.version}`,
    });
  }

  const verdict = await judgeServing(ctx, live, { ...target, name }, new Date(ctx.status.preview.startedAt));
  switch (verdict.kind) {
    case 'progressing':
      mark('False', Reason.PreviewStarting, verdict.message);
      return wait(
        Reason.PreviewStarting,
        `preview of version ${model.version}: ${verdict.message}`,
        PREVIEW_POLL_MS,
      );
    case 'failed': {
      observeStep(ctx, 'rollout', 'failed', ctx.status.preview.startedAt);
      const message = `preview of version ${model.version}: ${verdict.message}`;
      mark('False', verdict.reason, message);
      throw new RunFailed(verdict.reason, message);
    }
    case 'done':
      mark(
        'True',
        Reason.PreviewAvailable,
        `preview "${name}" runs version ${model.version}: ${verdict.message}`,
      );
      return next({
        image: live.spec?.template.spec?.containers.find((c) => c.name === target.container)?.image ?? '',
        revision: live.metadata?.annotations?.[REVISION_ANNOTATION],
        service: name,
      });
  }
}

/** Removes the preview and forgets it. */
export async function removePreview(ctx: ReconcileContext, name: string): Promise<void> {
  await removeSide(ctx, 'preview', name);
  delete ctx.status.preview;
}
