// Step 3: have a serving image for the version, by digest. A tag that already exists in ECR is
// reused without a build; otherwise the builder runs once (its name is recorded in status, and
// Kaniko Job names are deterministic, so a restart observes the same build). What to do next
// and what a build's state means are pure policies (policies/buildAction.ts).
import { ConditionType, EventReason, Reason } from '../../api/v1alpha1/conditions.js';
import type { Builder, BuildRequest, Builders, BuildState } from '../../builders/builder.js';
import { shortHash } from '../../children/names.js';
import { renderTag } from '../../children/template.js';
import { EcrError, parseRepository, type RepositoryRef } from '../../clients/ecr.js';
import { Stalling, Transient } from '../../runtime/errors.js';
import { markStep, next, observeStep, wait, type ReconcileContext, type StepResult } from '../context.js';
import { judgeBuild, needsEcrDigest, nextBuildAction } from '../policies/buildAction.js';
import { RunFailed } from '../run.js';
import type { ImagePlan, RunPlan } from './planRun.js';

const BUILD_POLL_MS = 5000;

/** The image plan of a builder that builds. */
type BuiltImage = Exclude<ImagePlan, { builder: 'none' }>;

/** The image to deploy by digest; undefined keeps the container's image (builder none). */
export interface ServingImage {
  ref: string | undefined;
}

export async function ensureImage(ctx: ReconcileContext, plan: RunPlan): Promise<StepResult<ServingImage>> {
  ctx.phase = 'Building';
  const { status } = ctx;
  const { model, images } = plan;
  const mark = markStep(ctx, ConditionType.ImageBuilt);
  if (images.builder === 'none') {
    mark('True', Reason.NoBuild, 'builder is none: the serving image stays, only the model env changes');
    return next({ ref: undefined });
  }
  const { ecr } = ctx.deps.pipeline;
  const repo = parseRepository(images.image.repository);
  const tag = renderTag(images.image.tagTemplate, model);
  const build = boundBuild(ctx.deps.pipeline.builders, images, {
    md: ctx.md,
    model,
    repo,
    tag,
    // A retry builds afresh: a new Job name (or CodeBuild idempotency token).
    buildHash: shortHash({ image: images.image, build: images.build, retry: plan.run.retryToken }),
  });
  const image = `${repo.uri}:${tag}`;
  const pollMs = Math.max(BUILD_POLL_MS, build.pollIntervalMs);
  const building = (message: string, afterMs = pollMs) => wait(Reason.Building, message, afterMs);

  const useImage = (digest: string, reused: boolean): StepResult<ServingImage> => {
    const ref = `${repo.uri}@${digest}`;
    status.image = { ref, tag, digest, builtFor: model.version, ...(reused ? { reused } : {}) };
    mark('True', reused ? Reason.ImageReused : Reason.Built, `${image} is ${digest}`);
    ctx.events.push({
      type: 'Normal',
      reason: reused ? EventReason.ImageReused : EventReason.ImageBuilt,
      message: `${reused ? 'Reused existing' : 'Built'} image ${image} (${digest}) for version ${model.version}`,
    });
    return next({ ref });
  };
  // Status records the build before anyone looks at it: a crash from here on finds it again.
  const start = async () => {
    const name = await build.start();
    status.build = {
      builder: images.builder,
      name,
      version: model.version,
      startedAt: ctx.now.toISOString(),
    };
    return name;
  };

  const action = nextBuildAction({
    version: model.version,
    image: status.image,
    build: status.build,
    nowMs: ctx.now.getTime(),
    pollIntervalMs: build.pollIntervalMs,
  });
  switch (action.kind) {
    case 'haveImage':
      return next({ ref: action.ref });
    case 'lookUp': {
      await fromEcr(() => ensureRepositories(ctx, images, repo));
      const existing = await fromEcr(() => ecr.digestOfTag(repo, tag));
      if (existing) return useImage(existing, true);
      const name = await start();
      ctx.events.push({
        type: 'Normal',
        reason: EventReason.BuildStarted,
        message: `Started ${images.builder} build "${name}" for ${image}`,
      });
      mark('False', Reason.Building, `started ${images.builder} build "${name}"`);
      return building(`building ${image}`);
    }
    case 'waitForPoll':
      // Builds that are polled rather than watched are looked at no more often than they ask.
      return building(`building ${image}`, action.afterMs);
    case 'observe':
      break;
  }

  const state: BuildState = await build.observe(action.name);
  const inEcr = needsEcrDigest(state) ? await fromEcr(() => ecr.digestOfTag(repo, tag)) : undefined;
  const verdict = judgeBuild(state, inEcr, image);
  switch (verdict.kind) {
    case 'use':
      if (state.phase === 'Succeeded') observeStep(ctx, 'build', 'succeeded', status.build?.startedAt);
      return useImage(verdict.digest, false);
    case 'restart': {
      const name = await start();
      mark('False', Reason.Building, `build "${name}" was gone before it finished; started it again`);
      return building(`building ${image}`);
    }
    case 'running':
      mark('False', Reason.Building, verdict.message);
      return building(verdict.message);
    case 'failed':
      if (state.phase === 'Failed') observeStep(ctx, 'build', 'failed', status.build?.startedAt);
      mark('False', verdict.reason, verdict.message);
      throw new RunFailed(verdict.reason, verdict.message);
  }
}

/** The plan's builder with this run's request bound to it. */
function boundBuild(
  builders: Builders,
  images: BuiltImage,
  req: Omit<BuildRequest<unknown>, 'build'>,
): { pollIntervalMs: number; start(): Promise<string>; observe(name: string): Promise<BuildState> } {
  const bind = <B>(builder: Builder<B>, build: B) => ({
    pollIntervalMs: builder.pollIntervalMs,
    start: () => builder.start({ ...req, build }),
    observe: (name: string) => builder.observe({ ...req, build }, name),
  });
  return images.builder === 'kaniko'
    ? bind(builders.kaniko, images.build)
    : bind(builders.codebuild, images.build);
}

async function ensureRepositories(
  ctx: ReconcileContext,
  images: BuiltImage,
  repo: RepositoryRef,
): Promise<void> {
  const { ecr } = ctx.deps.pipeline;
  const { image, build } = images;
  const settings = {
    scanOnPush: image.scanOnPush ?? true,
    tagMutability: image.tagMutability ?? 'IMMUTABLE',
  };
  if (await ecr.ensureRepository(repo, settings))
    ctx.log.info({ repository: repo.uri }, 'Created ECR repository');
  const cache = build.cacheRepository;
  // Cached layers are tags: the cache repository must stay mutable.
  if (cache)
    await ecr.ensureRepository(parseRepository(cache), { scanOnPush: false, tagMutability: 'MUTABLE' });
}

/** ECR failures: the user's to fix (access, names) stall; the rest are retried. */
async function fromEcr<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof EcrError) {
      if (err.userError)
        throw new Stalling(
          Reason.EcrRequestRefused,
          `${err.message}; check the operator's AWS permissions and spec.image`,
        );
      throw new Transient(Reason.EcrUnavailable, err.message, { cause: err });
    }
    throw err;
  }
}
