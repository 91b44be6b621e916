// Step 3: have a serving image for the version, by digest. A tag that already exists in ECR is
// reused without a build; otherwise the builder runs once (its name is recorded in status, and
// Kaniko Job names are deterministic, so a restart observes the same build).
import { EcrError, parseRepository, type RepositoryRef } from '../../clients/ecr.js';
import type { BuildRequest } from '../../builders/builder.js';
import { Stalling, Transient } from '../../runtime/errors.js';
import {
  markStep,
  observeStep,
  pipelineDeps,
  type PipelineDeps,
  type ReconcileContext,
  type StepResult,
} from '../context.js';
import { shortHash } from '../render/names.js';
import { renderTag } from '../render/template.js';
import { RunFailed } from '../runFailed.js';
import { IMAGE_BUILT } from './planRun.js';

const BUILD_POLL_MS = 5000;

export async function ensureImage(ctx: ReconcileContext): Promise<StepResult> {
  ctx.phase = 'Building';
  const { spec, status, md } = ctx;
  const model = status.model!;
  const builder = spec.build!.builder;
  const mark = markStep(ctx, IMAGE_BUILT);
  if (builder === 'none') {
    mark('True', 'NoBuild', 'builder is none: the serving image stays, only the model env changes');
    return { kind: 'continue' };
  }
  if (status.image?.builtFor === model.version) return { kind: 'continue' };

  const deps = pipelineDeps(ctx);
  const repo = parseRepository(spec.image!.repository);
  const tag = renderTag(spec.image!.tagTemplate, model);
  const useImage = (digest: string, reused: boolean) => {
    status.image = {
      ref: `${repo.uri}@${digest}`,
      tag,
      digest,
      builtFor: model.version,
      ...(reused ? { reused } : {}),
    };
    mark('True', reused ? 'ImageReused' : 'Built', `${repo.uri}:${tag} is ${digest}`);
    ctx.events.push({
      type: 'Normal',
      reason: reused ? 'ImageReused' : 'ImageBuilt',
      message: `${reused ? 'Reused existing' : 'Built'} image ${repo.uri}:${tag} (${digest}) for version ${model.version}`,
    });
    return { kind: 'continue' } as const;
  };

  const req: BuildRequest = {
    md,
    model,
    repo,
    tag,
    // A retry builds afresh: a new Job name (or CodeBuild idempotency token).
    buildHash: shortHash({ image: spec.image, build: spec.build, retry: status.currentRun?.retryToken }),
  };
  const impl = deps.builders[builder];
  const pollMs = Math.max(BUILD_POLL_MS, impl.pollIntervalMs);
  // Status records the build before anyone looks at it: a crash from here on finds it again.
  const start = async () => {
    const name = await impl.start(req);
    status.build = { builder, name, version: model.version, startedAt: ctx.now.toISOString() };
    return name;
  };

  if (status.build?.version !== model.version) {
    await ecr(() => ensureRepositories(deps, ctx, repo));
    const existing = await ecr(() => deps.ecr.digestOfTag(repo, tag));
    if (existing) return useImage(existing, true);
    const name = await start();
    ctx.events.push({
      type: 'Normal',
      reason: 'BuildStarted',
      message: `Started ${builder} build "${name}" for ${repo.uri}:${tag}`,
    });
    mark('False', 'Building', `started ${builder} build "${name}"`);
    return building(`building ${repo.uri}:${tag}`, pollMs);
  }
  // Builds that are polled rather than watched are looked at no more often than they ask.
  const sinceStart = ctx.now.getTime() - Date.parse(status.build!.startedAt);
  if (sinceStart < impl.pollIntervalMs)
    return building(`building ${repo.uri}:${tag}`, impl.pollIntervalMs - sinceStart);

  const state = await impl.observe(req, status.build!.name);
  switch (state.phase) {
    case 'Missing': {
      // Cleaned up (TTL) after it pushed, or deleted by someone: ECR tells which.
      const pushed = await ecr(() => deps.ecr.digestOfTag(repo, tag));
      if (pushed) return useImage(pushed, false);
      const name = await start();
      mark('False', 'Building', `build "${name}" was gone before it finished; started it again`);
      return building(`building ${repo.uri}:${tag}`, pollMs);
    }
    case 'Running':
      mark('False', 'Building', state.message);
      return building(state.message, pollMs);
    case 'Failed':
      observeStep(ctx, 'build', 'failed', status.build?.startedAt);
      mark('False', state.reason, state.message);
      throw new RunFailed(state.reason, state.message);
    case 'Succeeded': {
      // The builder's word is checked against the registry before anything is deployed.
      const inRegistry = await ecr(() => deps.ecr.digestOfTag(repo, tag));
      if (inRegistry !== state.digest) {
        const message = inRegistry
          ? `the build reported ${state.digest} but ${repo.uri}:${tag} is ${inRegistry} in ECR`
          : `the build reported ${state.digest} but ECR has no ${repo.uri}:${tag}`;
        mark('False', 'DigestMismatch', message);
        throw new RunFailed('DigestMismatch', message);
      }
      observeStep(ctx, 'build', 'succeeded', status.build?.startedAt);
      return useImage(state.digest, false);
    }
  }
}

const building = (message: string, requeueAfterMs: number): StepResult => ({
  kind: 'wait',
  reason: 'Building',
  message,
  requeueAfterMs,
});

async function ensureRepositories(
  deps: PipelineDeps,
  ctx: ReconcileContext,
  repo: RepositoryRef,
): Promise<void> {
  const image = ctx.spec.image!;
  const settings = {
    scanOnPush: image.scanOnPush ?? true,
    tagMutability: image.tagMutability ?? 'IMMUTABLE',
  };
  if (await deps.ecr.ensureRepository(repo, settings))
    ctx.log.info({ repository: repo.uri }, 'Created ECR repository');
  const cache = ctx.spec.build?.cacheRepository;
  // Cached layers are tags: the cache repository must stay mutable.
  if (cache)
    await deps.ecr.ensureRepository(parseRepository(cache), { scanOnPush: false, tagMutability: 'MUTABLE' });
}

/** ECR failures: the user's to fix (access, names) stall; the rest are retried. */
async function ecr<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof EcrError) {
      if (err.userError)
        throw new Stalling(
          'RegistryAccessFailed',
          `${err.message}; check the operator's AWS permissions and spec.image`,
        );
      throw new Transient('EcrUnavailable', err.message, { cause: err });
    }
    throw err;
  }
}
