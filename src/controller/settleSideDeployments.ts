// Beside the pipeline, like the write-back: once no run of their strategy is under way, the
// blue-green preview and the canary have served their purpose. A Service still switched to the
// preview goes back first (a Service must never point at a removed preview), then the preview
// goes: at once after a failure, a rollback or a change of strategy, and scaleDownDelaySeconds
// after a promotion. A canary left by a run that ended otherwise than through its own steps (a
// crash between steps and a new version, a change of strategy) goes at once. Level-based: it
// reads only status, so a crash between a run's end and the removal is finished by the next
// reconcile.
import { RunResult } from '../api/v1alpha1/conditions.js';
import { blueGreenOf, canaryOf } from '../api/v1alpha1/strategy.js';
import type { ReconcileContext } from './context.js';
import { removeCanary } from './steps/canary.js';
import { removePreview } from './steps/preview.js';
import { restoreActiveService } from './steps/serviceSwitch.js';

/** Returns how soon to look again while a promoted preview waits for its removal. */
export async function settleSideDeployments(ctx: ReconcileContext): Promise<number | undefined> {
  const run = ctx.status.currentRun;
  const inProgress = run !== undefined && run.result === undefined;
  if (ctx.status.canary && !(inProgress && canaryOf(ctx.spec.strategy))) await removeCanary(ctx);
  const preview = ctx.status.preview;
  if (!preview) return undefined;
  const blueGreen = blueGreenOf(ctx.spec.strategy);
  if (blueGreen && inProgress) return undefined; // the run's steps own it
  await restoreActiveService(ctx);
  if (blueGreen && run?.result === RunResult.Succeeded && run.version === preview.version) {
    const left =
      Date.parse(run.finishedAt ?? '') + blueGreen.scaleDownDelaySeconds * 1000 - ctx.now.getTime();
    if (left > 0) return left;
  }
  await removePreview(ctx, preview.name);
  return undefined;
}
