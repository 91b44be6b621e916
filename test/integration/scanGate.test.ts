// The scan gate's ECR client and policy against the bed's moto_server (no operator): an image is
// pushed with PutImage, its scan read and started for real, and the answers judged with specs as
// a user writes them. moto 5.2.5 has no scan of its own: before StartImageScan it answers
// ScanNotFoundException (scan on push creates none); after, a static COMPLETE with CVE-9999-9999
// (HIGH), unless a result was registered for the image through its static API.
// The bed's moto is shared: every repository here is new, and every registered result names
// its repository and image (one without them breaks every scan read in the region: a 500).
import { describe, expect, it } from '@jest/globals';
import { ECRClient } from '@aws-sdk/client-ecr';
import { pino } from 'pino';
import { ScanSchema } from '../../src/api/v1alpha1/pipeline.js';
import type { ModelDeployment } from '../../src/api/v1alpha1/modelDeployment.js';
import { EcrError, EcrRepositories, parseRepository, type RepositoryRef } from '../../src/clients/ecr.js';
import { newContext, type ReconcilerDeps } from '../../src/controller/context.js';
import { judgeScan, type ScanVerdict } from '../../src/controller/policies/judgeScan.js';
import { RunFailed } from '../../src/controller/run.js';
import type { RunPlan } from '../../src/controller/steps/planRun.js';
import { scanImage } from '../../src/controller/steps/scanImage.js';
import { findCondition } from '../../src/runtime/conditions.js';
import { createRepository, pushImage, registryHost } from '../helpers/aws.js';
import { bed } from '../helpers/bed.js';

const REGION = 'us-east-1';
const ecr = new EcrRepositories({
  clientFor: (region) =>
    new ECRClient({
      region,
      endpoint: bed.motoUrl,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    }),
});

const run = Date.now().toString(36);
let images = 0;

/** A new repository with one pushed image. */
async function pushed(): Promise<{ repo: RepositoryRef; digest: string }> {
  const name = `scan-gate-${run}-${++images}`;
  await createRepository(name);
  const digest = await pushImage(name, 'v1');
  return { repo: parseRepository(`${registryHost}/${name}`), digest };
}

/** What DescribeImageScanFindings answers for the image once it was scanned. */
async function registerResult(repo: RepositoryRef, digest: string, result: Record<string, unknown>) {
  const res = await fetch(`${bed.motoUrl}/moto-api/static/ecr/scan-finding-results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      results: [{ ...result, repositoryName: repo.name, imageId: { imageDigest: digest } }],
      region: REGION,
    }),
  });
  expect(res.status).toBe(201);
}

const completed = (findings: object[], extra: Record<string, unknown> = {}) => ({
  imageScanStatus: { status: 'COMPLETE', description: 'The scan was completed successfully.' },
  imageScanFindings: { imageScanCompletedAt: Math.floor(Date.now() / 1000), findings, ...extra },
});

/** What the gate decides about the image, as scanImage asks: read, start when none, read again. */
async function gate(repo: RepositoryRef, digest: string, spec: object = {}): Promise<ScanVerdict> {
  const policy = ScanSchema.parse(spec);
  const look = async (scanStarted: boolean) =>
    judgeScan({ answer: await ecr.scanFindings(repo, digest), policy, scanStarted, waitedMs: 0 });
  const first = await look(false);
  if (first.kind !== 'start') return first;
  expect(await ecr.startScan(repo, digest)).toEqual({ kind: 'started', status: 'IN_PROGRESS' });
  return look(true);
}

describe('moto as ECR', () => {
  it('no scan before StartImageScan; a second scan the same day is LimitExceeded', async () => {
    const { repo, digest } = await pushed();
    await expect(ecr.scanFindings(repo, digest)).resolves.toEqual({ kind: 'noScan' });
    await expect(ecr.startScan(repo, digest)).resolves.toEqual({ kind: 'started', status: 'IN_PROGRESS' });
    await expect(ecr.startScan(repo, digest)).resolves.toEqual({
      kind: 'alreadyScanned',
      message: 'LimitExceededException: The scan quota per image has been exceeded. Wait and try again.',
    });
  });

  it('the static default: COMPLETE with CVE-9999-9999 (HIGH) in package moto_fake', async () => {
    const { repo, digest } = await pushed();
    await ecr.startScan(repo, digest);
    const answer = await ecr.scanFindings(repo, digest);
    expect(answer).toEqual({
      kind: 'scan',
      status: 'COMPLETE',
      description: 'The scan was completed successfully.',
      enhanced: false,
      findings: [{ name: 'CVE-9999-9999', severity: 'HIGH', package: 'moto_fake' }],
      severityCounts: { HIGH: 1 },
      completedAt: expect.any(String),
    });
  });

  it('an image or repository that is not there: an error the user must fix', async () => {
    const { repo } = await pushed();
    const missing = `sha256:${'0'.repeat(64)}`;
    const gone = parseRepository(`${registryHost}/scan-gate-${run}-none`);
    for (const call of [
      () => ecr.scanFindings(repo, missing),
      () => ecr.startScan(repo, missing),
      () => ecr.scanFindings(gone, missing),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EcrError);
      expect(err).toMatchObject({ userError: true });
      expect((err as Error).message).toMatch(/(ImageNotFoundException|RepositoryNotFoundException): /);
    }
  });

  it('a registered nextToken comes back on every page: read once, not in a loop', async () => {
    const { repo, digest } = await pushed();
    await registerResult(repo, digest, {
      ...completed([{ name: 'CVE-2024-1', severity: 'LOW' }]),
      nextToken: 'again',
    });
    await ecr.startScan(repo, digest);
    await expect(ecr.scanFindings(repo, digest)).resolves.toMatchObject({
      findings: [{ name: 'CVE-2024-1', severity: 'LOW' }],
    });
  });
});

describe('the gate over moto', () => {
  it('a clean image passes', async () => {
    const { repo, digest } = await pushed();
    await registerResult(repo, digest, completed([], { findingSeverityCounts: {} }));
    await expect(gate(repo, digest)).resolves.toEqual({
      kind: 'passed',
      counts: {},
      ignored: 0,
      message: 'no finding at or above HIGH',
    });
  });

  it("moto's default finding (HIGH) fails at the default failOn", async () => {
    const { repo, digest } = await pushed();
    await expect(gate(repo, digest)).resolves.toEqual({
      kind: 'findings',
      counts: { HIGH: 1 },
      ignored: 0,
      message: '1 HIGH at or above HIGH (CVE-9999-9999 in moto_fake)',
    });
  });

  it('findings over the threshold fail, the worst named; those below are counted', async () => {
    const { repo, digest } = await pushed();
    await registerResult(
      repo,
      digest,
      completed(
        [
          { name: 'CVE-2024-3', severity: 'MEDIUM' },
          { name: 'CVE-2024-2', severity: 'HIGH' },
          {
            name: 'CVE-2024-1',
            severity: 'CRITICAL',
            attributes: [{ key: 'package_name', value: 'openssl' }],
          },
        ],
        { findingSeverityCounts: { CRITICAL: 1, HIGH: 1, MEDIUM: 1 } },
      ),
    );
    await expect(gate(repo, digest, { failOn: 'HIGH' })).resolves.toEqual({
      kind: 'findings',
      counts: { CRITICAL: 1, HIGH: 1, MEDIUM: 1 },
      ignored: 0,
      message: '1 CRITICAL, 1 HIGH at or above HIGH (CVE-2024-1 in openssl, CVE-2024-2)',
    });
  });

  it('an ignored CVE does not count', async () => {
    const { repo, digest } = await pushed();
    await expect(gate(repo, digest, { ignore: ['CVE-9999-9999'] })).resolves.toEqual({
      kind: 'passed',
      counts: {},
      ignored: 1,
      message: 'no finding at or above HIGH; 1 ignored',
    });
  });

  it('enhanced (Inspector) findings under continuous scanning are judged by vulnerability id', async () => {
    const { repo, digest } = await pushed();
    await registerResult(repo, digest, {
      imageScanStatus: { status: 'ACTIVE', description: 'Continuous scan is selected for image.' },
      imageScanFindings: {
        enhancedFindings: [
          {
            severity: 'CRITICAL',
            title: 'CVE-2024-9 - glibc',
            packageVulnerabilityDetails: {
              vulnerabilityId: 'CVE-2024-9',
              source: 'NVD',
              vulnerablePackages: [{ name: 'glibc', version: '2.36' }],
            },
          },
        ],
      },
    });
    await expect(gate(repo, digest, { failOn: 'CRITICAL' })).resolves.toMatchObject({
      kind: 'findings',
      message: '1 CRITICAL at or above CRITICAL (CVE-2024-9 in glibc)',
    });
  });

  it('a scan still in progress waits, and times out into unavailable', async () => {
    const { repo, digest } = await pushed();
    await registerResult(repo, digest, { imageScanStatus: { status: 'IN_PROGRESS' } });
    await expect(gate(repo, digest)).resolves.toEqual({ kind: 'wait', message: 'the scan is IN_PROGRESS' });
    const answer = await ecr.scanFindings(repo, digest);
    const policy = ScanSchema.parse({ timeoutSeconds: 30 });
    expect(judgeScan({ answer, policy, scanStarted: true, waitedMs: 30_000 })).toEqual({
      kind: 'unavailable',
      message: 'timed out after 30s waiting for the scan (last status IN_PROGRESS)',
    });
  });

  it.each(['FAILED', 'UNSUPPORTED_IMAGE', 'SCAN_ELIGIBILITY_EXPIRED', 'FINDINGS_UNAVAILABLE'])(
    '%s: unavailable, with what ECR says',
    async (status) => {
      const { repo, digest } = await pushed();
      await registerResult(repo, digest, { imageScanStatus: { status, description: `moto says ${status}` } });
      await expect(gate(repo, digest)).resolves.toEqual({
        kind: 'unavailable',
        message: `the scan is ${status}: moto says ${status}`,
      });
    },
  );
});

describe('scanImage over moto: a scan error with each onScanError', () => {
  /** scanImage as the reconciler calls it, with moto as ECR, until it stops waiting. */
  async function scanWith(repo: RepositoryRef, digest: string, scan: object) {
    const md = {
      apiVersion: 'mlops.healthpredict.io/v1alpha1',
      kind: 'ModelDeployment',
      metadata: { name: 'scan-gate', namespace: 'ml', generation: 1 },
      spec: {},
    } as unknown as ModelDeployment;
    const deps = {
      pipeline: { ecr },
      log: pino({ level: 'silent' }),
      now: () => new Date(),
    } as unknown as ReconcilerDeps;
    const ctx = newContext(deps, 'ml/scan-gate', md);
    const plan = {
      images: { builder: 'kaniko', image: { repository: repo.uri, scan: ScanSchema.parse(scan) } },
    } as unknown as RunPlan;
    const image = { ref: `${repo.uri}@${digest}` };
    const first = await scanImage(ctx, plan, image); // no scan yet: started
    expect(first).toMatchObject({ kind: 'wait', reason: 'Scanning' });
    expect(ctx.status.scan).toMatchObject({ digest, scanStarted: true });
    const out = await scanImage(ctx, plan, image).catch((e: unknown) => e);
    return { ctx, out, condition: findCondition(ctx.status.conditions, 'ImageScanned') };
  }

  it('Fail: the run fails with ScanUnavailable', async () => {
    const { repo, digest } = await pushed();
    await registerResult(repo, digest, { imageScanStatus: { status: 'FAILED', description: 'boom' } });
    const { out, condition } = await scanWith(repo, digest, { onScanError: 'Fail' });
    expect(out).toBeInstanceOf(RunFailed);
    expect(out).toMatchObject({ reason: 'ScanUnavailable' });
    expect((out as Error).message).toContain('the scan is FAILED: boom');
    expect(condition).toMatchObject({ status: 'False', reason: 'ScanUnavailable' });
  });

  it('Allow: the image goes on with a Warning Event', async () => {
    const { repo, digest } = await pushed();
    await registerResult(repo, digest, { imageScanStatus: { status: 'FAILED', description: 'boom' } });
    const { ctx, out, condition } = await scanWith(repo, digest, { onScanError: 'Allow' });
    expect(out).toEqual({ kind: 'next', value: { ref: `${repo.uri}@${digest}` } });
    expect(condition).toMatchObject({ status: 'True', reason: 'ScanSkipped' });
    expect(ctx.events).toMatchObject([{ type: 'Warning', reason: 'ScanSkipped' }]);
  });
});
