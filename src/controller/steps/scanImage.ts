// The scan gate, between ensureImage and the rollout: wait for ECR's scan of the image (starting
// it when nobody has), then pass the image on, fail the run on findings at or above
// spec.image.scan.failOn, or apply onScanError when the scan gives none. What ECR's answer means
// is a pure policy (policies/judgeScan.ts); ECR itself says whether a scan exists, so a
// restarted operator never starts a second one.
import { ConditionType, Reason } from '../../api/v1alpha1/conditions.js';
import type { ScanSpec, ScanStatus } from '../../api/v1alpha1/pipeline.js';
import { parseRepository, type RepositoryRef } from '../../clients/ecr.js';
import { findCondition, isTrue } from '../../runtime/conditions.js';
import { fromEcr } from '../ecrCalls.js';
import { markStep, next, wait, type ReconcileContext, type StepResult } from '../context.js';
import { judgeScan } from '../policies/judgeScan.js';
import { RunFailed } from '../run.js';
import type { ServingImage } from './ensureImage.js';
import type { RunPlan } from './planRun.js';

const SCAN_POLL_MS = 10_000;

export async function scanImage(
  ctx: ReconcileContext,
  plan: RunPlan,
  image: ServingImage,
): Promise<StepResult<ServingImage>> {
  const { images } = plan;
  const policy = images.builder === 'none' ? undefined : images.image.scan;
  const digest = image.ref?.split('@')[1]; // ref is <repository>@<digest>
  if (images.builder === 'none' || !policy || !digest) return next(image);
  const { status } = ctx;
  // Judged once per image: later reconciles of the run (rollout, tests) do not ask ECR again,
  // and findings continuous scanning reports later do not fail a run that already passed.
  if (status.scan?.digest === digest && isTrue(status.conditions, ConditionType.ImageScanned))
    return next(image);
  ctx.phase = 'Scanning';
  const mark = markStep(ctx, ConditionType.ImageScanned);
  if (status.scan?.digest !== digest) status.scan = { digest, startedAt: ctx.now.toISOString() };
  const scan = status.scan;
  const repo = parseRepository(images.image.repository);
  const what = `${repo.uri}@${digest}`;
  const { ecr } = ctx.deps.pipeline;

  const answer = await fromEcrFor(() => ecr.scanFindings(repo, digest));
  if (answer.kind === 'scan') scan.status = answer.status;
  const verdict = judgeScan({
    answer,
    policy,
    scanStarted: scan.scanStarted === true,
    waitedMs: ctx.now.getTime() - Date.parse(scan.startedAt),
  });
  switch (verdict.kind) {
    case 'wait':
      return scanning(ctx, `${what}: ${verdict.message}`);
    case 'start':
      return startScan(ctx, policy, repo, digest, image);
    case 'passed':
      recordCounts(scan, verdict);
      mark('True', Reason.ScanPassed, `${what}: ${verdict.message}`);
      ctx.gates.push({ gate: 'scan', result: 'passed' });
      return next(image);
    case 'findings': {
      recordCounts(scan, verdict);
      const message = `${what}: ${verdict.message}; fix the image, or add the CVE ids to spec.image.scan.ignore`;
      mark('False', Reason.ScanFindings, message);
      ctx.gates.push({ gate: 'scan', result: 'failed' });
      throw new RunFailed(Reason.ScanFindings, message);
    }
    case 'unavailable':
      return unavailable(ctx, policy, `${what}: ${verdict.message}`, image);
  }
}

/** StartImageScan, recorded in status; then wait for its findings. */
async function startScan(
  ctx: ReconcileContext,
  policy: ScanSpec,
  repo: RepositoryRef,
  digest: string,
  image: ServingImage,
): Promise<StepResult<ServingImage>> {
  const scan = ctx.status.scan as ScanStatus;
  const what = `${repo.uri}@${digest}`;
  const started = await fromEcrFor(() => ctx.deps.pipeline.ecr.startScan(repo, digest));
  switch (started.kind) {
    case 'started':
      scan.scanStarted = true;
      if (started.status) scan.status = started.status;
      return scanning(ctx, `${what}: started the scan`);
    case 'alreadyScanned':
      // Scanned today already (by us before a crash, or by someone else): wait for that scan.
      scan.scanStarted = true;
      return scanning(ctx, `${what}: ECR has scanned the image today already; waiting for that scan`);
    case 'refused':
      return unavailable(ctx, policy, `${what}: ECR refused to scan it (${started.message})`, image);
  }
}

function scanning(ctx: ReconcileContext, message: string): StepResult<ServingImage> {
  markStep(ctx, ConditionType.ImageScanned)('False', Reason.Scanning, message);
  return wait(Reason.Scanning, message, SCAN_POLL_MS);
}

/** No findings will come: fail the run, or (onScanError Allow) let the image through with a
 * Warning Event and a gate decision, recorded once, with the change of the condition. */
function unavailable(
  ctx: ReconcileContext,
  policy: ScanSpec,
  message: string,
  image: ServingImage,
): StepResult<ServingImage> {
  const mark = markStep(ctx, ConditionType.ImageScanned);
  if (policy.onScanError !== 'Allow') {
    const failed = `${message}; fix the repository's scanning or the image, or set spec.image.scan.onScanError to Allow to deploy without a scan`;
    mark('False', Reason.ScanUnavailable, failed);
    ctx.gates.push({ gate: 'scan', result: 'failed' });
    throw new RunFailed(Reason.ScanUnavailable, failed);
  }
  const skipped = `${message}; deployed without a scan result (spec.image.scan.onScanError is Allow)`;
  const before = findCondition(ctx.status.conditions, ConditionType.ImageScanned);
  if (before?.status !== 'True' || before.reason !== Reason.ScanSkipped) {
    ctx.events.push({ type: 'Warning', reason: Reason.ScanSkipped, message: skipped });
    ctx.gates.push({ gate: 'scan', result: 'allowed' });
  }
  mark('True', Reason.ScanSkipped, skipped);
  return next(image);
}

function recordCounts(scan: ScanStatus, verdict: { counts: Record<string, number>; ignored: number }): void {
  scan.counts = verdict.counts;
  scan.ignored = verdict.ignored;
}

const fromEcrFor = <T>(call: () => Promise<T>): Promise<T> =>
  fromEcr(
    call,
    "the operator's AWS permissions (ecr:DescribeImageScanFindings, ecr:StartImageScan) and that the image is still in ECR",
  );
