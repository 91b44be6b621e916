// scanImage on its own: ECR's scan of the image before → the step's result, status.scan, the
// ImageScanned condition and Events after.
import { describe, expect, it } from '@jest/globals';
import { ConditionType } from '../../../../src/api/v1alpha1/conditions.js';
import type { ModelDeploymentStatus } from '../../../../src/api/v1alpha1/modelDeployment.js';
import { EcrError } from '../../../../src/clients/ecr.js';
import type { ReconcileContext } from '../../../../src/controller/context.js';
import { RunFailed } from '../../../../src/controller/run.js';
import { planRun } from '../../../../src/controller/steps/planRun.js';
import { scanImage } from '../../../../src/controller/steps/scanImage.js';
import { findCondition } from '../../../../src/runtime/conditions.js';
import { Stalling, Transient } from '../../../../src/runtime/errors.js';
import { DIGEST_A, DIGEST_B, REPO, resolvedModel } from '../../helpers/pipelineFixtures.js';
import { setupReconciler, START, type Harness } from '../../helpers/reconcilerHarness.js';

const REF = `${REPO}@${DIGEST_A}`;
const IMAGE = { ref: REF };

/** A run planned with `scan` as spec.image.scan (none when null). */
async function given(scan: Record<string, unknown> | null = {}, spec: Record<string, unknown> = {}) {
  const t = setupReconciler({ spec: { image: { repository: REPO, ...(scan ? { scan } : {}) }, ...spec } });
  const ctx = t.stepContext();
  const planned = await planRun(ctx, resolvedModel());
  if (planned.kind !== 'next') throw new Error('no plan');
  ctx.events = []; // DeploymentStarted: planRun's, not the step's under test
  return { t, ctx, plan: planned.value };
}

/** The context of a later reconcile: the status the last one left, `afterMs` later. */
function later(t: Harness, status: ModelDeploymentStatus, afterMs = 10_000): ReconcileContext {
  t.clock.ms += afterMs;
  return t.stepContext(status);
}

const condition = (ctx: ReconcileContext) => {
  const c = findCondition(ctx.status.conditions, ConditionType.ImageScanned);
  return c && [c.status, c.reason];
};
const messageOf = (ctx: ReconcileContext) =>
  findCondition(ctx.status.conditions, ConditionType.ImageScanned)?.message;

async function failure(run: Promise<unknown>): Promise<RunFailed> {
  const err = await run.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RunFailed);
  return err as RunFailed;
}

describe('scanImage: no gate', () => {
  it('without spec.image.scan the image goes on untouched, ECR is not asked', async () => {
    const { t, ctx, plan } = await given(null);
    await expect(scanImage(ctx, plan, IMAGE)).resolves.toEqual({ kind: 'next', value: IMAGE });
    expect(t.ecr.calls).toEqual([]);
    expect(ctx.status.scan).toBeUndefined();
    expect(condition(ctx)).toBeUndefined();
  });

  it('builder none: nothing to scan', async () => {
    const { t, ctx, plan } = await given({}, { build: { builder: 'none' } });
    const image = { ref: undefined };
    await expect(scanImage(ctx, plan, image)).resolves.toEqual({ kind: 'next', value: image });
    expect(t.ecr.calls).toEqual([]);
  });
});

describe('scanImage: waiting for the scan', () => {
  it('no scan of the image (scan on push off, or moto): starts one, records it, waits', async () => {
    const { t, ctx, plan } = await given();
    const out = await scanImage(ctx, plan, IMAGE);
    expect(out).toEqual({
      kind: 'wait',
      reason: 'Scanning',
      message: `${REF}: started the scan`,
      requeueAfterMs: 10_000,
    });
    expect(t.ecr.calls).toEqual([`scanFindings ${REF}`, `startScan ${REF}`]);
    expect(ctx.status.scan).toEqual({
      digest: DIGEST_A,
      startedAt: new Date(START).toISOString(),
      scanStarted: true,
      status: 'IN_PROGRESS',
    });
    expect(condition(ctx)).toEqual(['False', 'Scanning']);
    expect(ctx.phase).toBe('Scanning');
  });

  it('a scan in progress: waits and never starts another', async () => {
    const { t, ctx, plan } = await given();
    await scanImage(ctx, plan, IMAGE);
    const next = later(t, ctx.status);
    await expect(scanImage(next, plan, IMAGE)).resolves.toMatchObject({
      kind: 'wait',
      message: `${REF}: the scan is IN_PROGRESS`,
    });
    expect(t.ecr.scansStarted()).toBe(1);
    expect(next.status.scan?.startedAt).toBe(new Date(START).toISOString());
  });

  it('scan on push already scanning: waits without starting one', async () => {
    const { t, ctx, plan } = await given();
    t.ecr.setScan(DIGEST_A, 'IN_PROGRESS');
    await expect(scanImage(ctx, plan, IMAGE)).resolves.toMatchObject({ kind: 'wait', reason: 'Scanning' });
    expect(t.ecr.scansStarted()).toBe(0);
    expect(ctx.status.scan).toMatchObject({ digest: DIGEST_A, status: 'IN_PROGRESS' });
    expect(ctx.status.scan?.scanStarted).toBeUndefined();
  });

  it('a restarted operator (status lost) finds the scan in ECR and does not start a second', async () => {
    const { t, ctx, plan } = await given();
    await scanImage(ctx, plan, IMAGE);
    const restarted = later(t, {}); // the write that recorded the start was lost
    await expect(scanImage(restarted, plan, IMAGE)).resolves.toMatchObject({ kind: 'wait' });
    expect(t.ecr.scansStarted()).toBe(1);
  });

  it('ECR not showing a scan started today yet: LimitExceeded is no failure, it waits', async () => {
    const { t, ctx, plan } = await given();
    t.ecr.refuseStart = { kind: 'alreadyScanned', message: 'LimitExceededException: quota' };
    await expect(scanImage(ctx, plan, IMAGE)).resolves.toMatchObject({
      kind: 'wait',
      message: `${REF}: ECR has scanned the image today already; waiting for that scan`,
    });
    expect(ctx.status.scan?.scanStarted).toBe(true);
  });

  it('the timeout runs from the first look; past it the scan is unavailable', async () => {
    const { t, ctx, plan } = await given({ timeoutSeconds: 60 });
    await scanImage(ctx, plan, IMAGE);
    const late = later(t, ctx.status, 60_000);
    const err = await failure(scanImage(late, plan, IMAGE));
    expect(err.reason).toBe('ScanUnavailable');
    expect(err.message).toContain('timed out after 60s waiting for the scan (last status IN_PROGRESS)');
    expect(condition(late)).toEqual(['False', 'ScanUnavailable']);
  });
});

describe('scanImage: verdicts', () => {
  it('a clean scan passes the image on, with its counts', async () => {
    const { t, ctx, plan } = await given();
    t.ecr.setScan(DIGEST_A, 'COMPLETE', [{ name: 'CVE-1', severity: 'LOW' }]);
    await expect(scanImage(ctx, plan, IMAGE)).resolves.toEqual({ kind: 'next', value: IMAGE });
    expect(condition(ctx)).toEqual(['True', 'ScanPassed']);
    expect(messageOf(ctx)).toBe(`${REF}: no finding at or above HIGH (1 LOW)`);
    expect(ctx.status.scan).toMatchObject({ status: 'COMPLETE', counts: { LOW: 1 }, ignored: 0 });
    expect(t.ecr.scansStarted()).toBe(0);
    expect(ctx.gates).toEqual([{ gate: 'scan', result: 'passed' }]);
  });

  it('once passed, later reconciles of the run do not ask ECR again', async () => {
    const { t, ctx, plan } = await given();
    t.ecr.setScan(DIGEST_A, 'COMPLETE');
    await scanImage(ctx, plan, IMAGE);
    t.ecr.calls.length = 0;
    t.ecr.setScan(DIGEST_A, 'ACTIVE', [{ name: 'CVE-LATE', severity: 'CRITICAL' }]);
    const next = later(t, ctx.status);
    await expect(scanImage(next, plan, IMAGE)).resolves.toEqual({ kind: 'next', value: IMAGE });
    expect(t.ecr.calls).toEqual([]);
    expect(next.gates).toEqual([]);
  });

  it('another digest than the one judged is scanned afresh', async () => {
    const { t, ctx, plan } = await given();
    t.ecr.setScan(DIGEST_A, 'COMPLETE');
    await scanImage(ctx, plan, IMAGE);
    const other = { ref: `${REPO}@${DIGEST_B}` };
    const next = later(t, ctx.status);
    await expect(scanImage(next, plan, other)).resolves.toMatchObject({ kind: 'wait' });
    expect(next.status.scan).toMatchObject({
      digest: DIGEST_B,
      startedAt: new Date(t.clock.ms).toISOString(),
      scanStarted: true,
    });
  });

  it('findings at or above failOn fail the run and say what to do', async () => {
    const { t, ctx, plan } = await given({ ignore: ['CVE-2024-9'] });
    t.ecr.setScan(DIGEST_A, 'COMPLETE', [
      { name: 'CVE-2024-1', severity: 'CRITICAL', package: 'openssl' },
      { name: 'CVE-2024-2', severity: 'HIGH' },
      { name: 'CVE-2024-9', severity: 'CRITICAL' },
    ]);
    const err = await failure(scanImage(ctx, plan, IMAGE));
    expect(err.reason).toBe('ScanFindings');
    expect(err.message).toBe(
      `${REF}: 1 CRITICAL, 1 HIGH at or above HIGH (CVE-2024-1 in openssl, CVE-2024-2); 1 ignored; ` +
        'fix the image, or add the CVE ids to spec.image.scan.ignore',
    );
    expect(condition(ctx)).toEqual(['False', 'ScanFindings']);
    expect(ctx.status.scan).toMatchObject({ counts: { CRITICAL: 1, HIGH: 1 }, ignored: 1 });
    expect(ctx.gates).toEqual([{ gate: 'scan', result: 'failed' }]);
  });

  it('an ignored CVE lets the image through', async () => {
    const { t, ctx, plan } = await given({ ignore: ['CVE-9999-9999'] });
    t.ecr.setScan(DIGEST_A, 'COMPLETE', [{ name: 'CVE-9999-9999', severity: 'HIGH' }]);
    await expect(scanImage(ctx, plan, IMAGE)).resolves.toMatchObject({ kind: 'next' });
    expect(messageOf(ctx)).toBe(`${REF}: no finding at or above HIGH; 1 ignored`);
  });
});

describe('scanImage: the scan gives no findings', () => {
  it('onScanError Fail (the default): the run fails, and the message says how to let it through', async () => {
    const { t, ctx, plan } = await given();
    t.ecr.setScan(DIGEST_A, 'FAILED', [], { description: 'The scan failed.' });
    const err = await failure(scanImage(ctx, plan, IMAGE));
    expect(err.reason).toBe('ScanUnavailable');
    expect(err.message).toBe(
      `${REF}: the scan is FAILED: The scan failed.; fix the repository's scanning or the image, ` +
        'or set spec.image.scan.onScanError to Allow to deploy without a scan',
    );
    expect(condition(ctx)).toEqual(['False', 'ScanUnavailable']);
    expect(ctx.gates).toEqual([{ gate: 'scan', result: 'failed' }]);
  });

  it('onScanError Allow: the image goes on, ScanSkipped, one Warning Event', async () => {
    const { t, ctx, plan } = await given({ onScanError: 'Allow' });
    t.ecr.setScan(DIGEST_A, 'UNSUPPORTED_IMAGE', [], { description: 'not supported' });
    await expect(scanImage(ctx, plan, IMAGE)).resolves.toEqual({ kind: 'next', value: IMAGE });
    expect(condition(ctx)).toEqual(['True', 'ScanSkipped']);
    const message =
      `${REF}: the scan is UNSUPPORTED_IMAGE: not supported; ` +
      'deployed without a scan result (spec.image.scan.onScanError is Allow)';
    expect(ctx.events).toEqual([{ type: 'Warning', reason: 'ScanSkipped', message }]);
    expect(ctx.gates).toEqual([{ gate: 'scan', result: 'allowed' }]);

    const next = later(t, ctx.status);
    await expect(scanImage(next, plan, IMAGE)).resolves.toMatchObject({ kind: 'next' });
    expect(next.events).toEqual([]);
    expect(next.gates).toEqual([]);
  });

  it.each([
    ['Fail', 'throws'],
    ['Allow', 'next'],
  ])('ECR refusing to start the scan, onScanError %s', async (onScanError, outcome) => {
    const { t, ctx, plan } = await given({ onScanError });
    t.ecr.refuseStart = {
      kind: 'refused',
      error: 'UnsupportedImageTypeException',
      message: 'UnsupportedImageTypeException: not an image',
    };
    const run = scanImage(ctx, plan, IMAGE);
    if (outcome === 'throws') {
      const err = await failure(run);
      expect(err.message).toContain(
        `${REF}: ECR refused to scan it (UnsupportedImageTypeException: not an image)`,
      );
    } else {
      await expect(run).resolves.toMatchObject({ kind: 'next' });
      expect(condition(ctx)).toEqual(['True', 'ScanSkipped']);
      expect(ctx.events.map((e) => e.type)).toEqual(['Warning']);
    }
  });
});

describe('scanImage: ECR failures', () => {
  it("a refused request (access) stalls: the operator's permissions need fixing", async () => {
    const { t, ctx, plan } = await given({ onScanError: 'Allow' });
    t.ecr.fail = new EcrError('reading the scan of x failed: AccessDeniedException: no', true);
    const err = await scanImage(ctx, plan, IMAGE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stalling);
    expect(err).not.toBeInstanceOf(RunFailed);
    expect(err).toMatchObject({ reason: 'EcrRequestRefused' });
    expect((err as Error).message).toContain('ecr:DescribeImageScanFindings');
  });

  it('ECR unreachable is retried', async () => {
    const { t, ctx, plan } = await given();
    t.ecr.fail = new EcrError('reading the scan of x failed: connection refused', false);
    await expect(scanImage(ctx, plan, IMAGE)).rejects.toThrow(Transient);
  });
});
