// Blue-green delivery of a run (spec.strategy.type BlueGreen), after its image is built and
// scanned: the version runs in a preview Deployment, is tested through the preview Service, waits
// for approval if asked to, and only then is promoted: with an active Service, that Service
// selects the tested preview Pods while the serving Deployment rolls, and selects the serving
// Pods again once they all run the version. A failure before promotion removes the preview and
// leaves the serving Deployment and Service as they were; a failure of the serving rollout rolls
// back as any run does. status.preview.promotedAt marks the point of no return, so a restarted
// operator never goes back to the preview once promotion began.
import type { V1Deployment } from '@kubernetes/client-node';
import type { BlueGreenSpec } from '../../api/v1alpha1/strategy.js';
import { markStep, next, type ReconcileContext, type StepResult, type Stop } from '../context.js';
import { ConditionType } from '../../api/v1alpha1/conditions.js';
import { renderQuery } from '../policies/judgeMeasurements.js';
import { runPrometheusAnalysis } from './prometheusAnalysis.js';
import { sideSelector } from '../render/sideDeployment.js';
import { containerPatch, servingEnv } from '../render/containerPatch.js';
import { judgeRollout } from '../policies/judgeRollout.js';
import { recordStable, RunFailed } from '../run.js';
import { awaitApproval } from './awaitApproval.js';
import type { ServingImage } from './ensureImage.js';
import type { RunPlan } from './planRun.js';
import { ensurePreview, removePreview } from './preview.js';
import { startRollback } from './rollBack.js';
import { readServing, rollout } from './rollout.js';
import { runTests } from './runTests.js';
import { switchBackWhenServed, switchToPreview } from './serviceSwitch.js';
import { wait } from '../context.js';
import { Reason } from '../../api/v1alpha1/conditions.js';

const SWITCH_BACK_POLL_MS = 1000;

/** The serving container runs the version and its rollout is complete by kubectl's rules. */
async function servesCompletely(
  ctx: ReconcileContext,
  plan: RunPlan,
  image: ServingImage,
  claimed: V1Deployment | undefined,
): Promise<boolean> {
  const { deployment: target, model } = plan;
  const serving = claimed ?? (await readServing(ctx, target));
  const change = containerPatch(serving, {
    container: target.container,
    ...(image.ref ? { image: image.ref } : {}),
    env: servingEnv(target.env, model),
  });
  return change.kind === 'upToDate' && judgeRollout(serving).kind === 'done';
}

/** spec.strategy.blueGreen.prePromotionAnalysis, counted in status.preview.analysis. */
async function analyzePreview(
  ctx: ReconcileContext,
  blueGreen: BlueGreenSpec,
  version: string,
): Promise<StepResult<void>> {
  const check = blueGreen.prePromotionAnalysis?.prometheus;
  const preview = ctx.status.preview;
  if (!check || !preview) return next(undefined);
  const record = (preview.analysis ??= { result: 'Running' });
  if (record.result === 'Passed') return next(undefined);
  ctx.phase = 'Previewing';
  const mark = markStep(ctx, ConditionType.AnalysisPassed);
  const query = renderQuery(check.query, {
    namespace: ctx.md.metadata.namespace,
    preview: preview.name,
    version,
  });
  const analyzed = await runPrometheusAnalysis(ctx, check, query, record, {
    what: `pre-promotion analysis of version ${version}`,
    field: 'spec.strategy.blueGreen.prePromotionAnalysis.prometheus.query',
    mark,
  });
  if (analyzed.kind === 'next')
    mark('True', Reason.AnalysisPassed, `preview "${preview.name}": ${record.lastValue ?? ''}`);
  return analyzed;
}

export async function deliverBlueGreen(
  ctx: ReconcileContext,
  plan: RunPlan,
  image: ServingImage,
  blueGreen: BlueGreenSpec,
  claimed: V1Deployment | undefined,
): Promise<Stop> {
  const { model, deployment } = plan;
  try {
    if (ctx.status.preview?.promotedAt === undefined || ctx.status.preview.version !== model.version) {
      const preview = await ensurePreview(ctx, plan, image, blueGreen, claimed);
      if (preview.kind !== 'next') return preview;
      const tested = await runTests(ctx, plan, preview.value);
      if (tested.kind !== 'next') return tested;
      const analyzed = await analyzePreview(ctx, blueGreen, model.version);
      if (analyzed.kind !== 'next') return analyzed;
      const approved = awaitApproval(ctx, plan, !blueGreen.autoPromote);
      if (approved.kind !== 'next') return approved;
      if (ctx.status.preview) ctx.status.preview.promotedAt = ctx.now.toISOString();
    }
    // Once the serving Deployment runs the version everywhere, the switch is over: a restart that
    // lost the record of switching back must not switch again.
    if (blueGreen.activeService && !(await servesCompletely(ctx, plan, image, claimed))) {
      await switchToPreview(
        ctx,
        blueGreen.activeService,
        sideSelector('preview', ctx.md.metadata.name),
        model.version,
      );
    }
    const rolled = await rollout(ctx, plan, image, claimed);
    if (rolled.kind !== 'next') return rolled;
    if (blueGreen.activeService) {
      const serving = await readServing(ctx, deployment);
      if (await switchBackWhenServed(ctx, blueGreen.activeService, serving)) {
        const message = `waiting for the old Pods of "${deployment.name}" to go before Service "${blueGreen.activeService}" selects them again`;
        return wait(Reason.ServiceSwitched, message, SWITCH_BACK_POLL_MS);
      }
    }
    recordStable(ctx, model.version, rolled.value.image, servingEnv(deployment.env, model));
    return { kind: 'done' };
  } catch (err) {
    if (!(err instanceof RunFailed)) throw err;
    // Before promotion nobody reached the preview: it goes, and nothing else was touched.
    const preview = ctx.status.preview;
    if (preview && preview.promotedAt === undefined) {
      await removePreview(ctx, preview.name);
    }
    return startRollback(ctx, plan, err);
  }
}
