// An in-memory ECR: repositories, tag → digest and each image's scan, with every call recorded.
import type { RepositoryRef, ScanAnswer, ScanFinding, StartScanResult } from '../../../src/clients/ecr.js';
import { REPO } from './pipelineFixtures.js';

export class FakeEcr {
  readonly calls: string[] = [];
  /** `<repository uri>:<tag>` → digest */
  readonly tags = new Map<string, string>();
  readonly repositories = new Set<string>();
  /** digest → what DescribeImageScanFindings answers; a digest missing here has no scan. */
  readonly scans = new Map<string, ScanAnswer>();
  /** What StartImageScan answers instead of starting a scan, once set. */
  refuseStart: StartScanResult | undefined;
  /** Thrown by every call once set. */
  fail: Error | undefined;

  async ensureRepository(repo: RepositoryRef, settings: { scanOnPush: boolean; tagMutability: string }) {
    this.calls.push(`ensure ${repo.uri} scanOnPush=${settings.scanOnPush} ${settings.tagMutability}`);
    if (this.fail) throw this.fail;
    if (this.repositories.has(repo.uri)) return false;
    this.repositories.add(repo.uri);
    return true;
  }

  async digestOfTag(repo: RepositoryRef, tag: string): Promise<string | undefined> {
    this.calls.push(`digest ${repo.uri}:${tag}`);
    if (this.fail) throw this.fail;
    return this.tags.get(`${repo.uri}:${tag}`);
  }

  async scanFindings(repo: RepositoryRef, digest: string): Promise<ScanAnswer> {
    this.calls.push(`scanFindings ${repo.uri}@${digest}`);
    if (this.fail) throw this.fail;
    return structuredClone(this.scans.get(digest) ?? { kind: 'noScan' });
  }

  /** Like ECR: one scan per image (a second is LimitExceeded); a started scan is IN_PROGRESS. */
  async startScan(repo: RepositoryRef, digest: string): Promise<StartScanResult> {
    this.calls.push(`startScan ${repo.uri}@${digest}`);
    if (this.fail) throw this.fail;
    if (this.refuseStart) return this.refuseStart;
    if (this.scans.has(digest))
      return {
        kind: 'alreadyScanned',
        message: 'LimitExceededException: The scan quota per image has been exceeded.',
      };
    this.setScan(digest, 'IN_PROGRESS');
    return { kind: 'started', status: 'IN_PROGRESS' };
  }

  /** An image pushed to the pipeline's repository. */
  push(tag: string, digest: string): void {
    this.tags.set(`${REPO}:${tag}`, digest);
  }

  /** The scan of `digest` as ECR reports it; COMPLETE scans have a completion time. */
  setScan(
    digest: string,
    status: string,
    findings: ScanFinding[] = [],
    extra: Partial<Extract<ScanAnswer, { kind: 'scan' }>> = {},
  ): void {
    this.scans.set(digest, {
      kind: 'scan',
      status,
      description: undefined,
      enhanced: false,
      findings,
      severityCounts: {},
      completedAt: status === 'COMPLETE' ? '2025-01-01T00:00:00.000Z' : undefined,
      ...extra,
    });
  }

  /** How many times StartImageScan was called. */
  scansStarted(): number {
    return this.calls.filter((c) => c.startsWith('startScan ')).length;
  }
}
