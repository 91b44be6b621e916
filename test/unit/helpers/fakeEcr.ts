// An in-memory ECR: repositories and tag → digest, with every call recorded.
import type { RepositoryRef } from '../../../src/clients/ecr.js';
import { REPO } from './pipelineFixtures.js';

export class FakeEcr {
  readonly calls: string[] = [];
  /** `<repository uri>:<tag>` → digest */
  readonly tags = new Map<string, string>();
  readonly repositories = new Set<string>();
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

  /** An image pushed to the pipeline's repository. */
  push(tag: string, digest: string): void {
    this.tags.set(`${REPO}:${tag}`, digest);
  }
}
