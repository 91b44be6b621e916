// Step 3: have a serving image for the version, by digest. A tag that already exists in ECR is
// reused without a build; otherwise the builder runs once (its name is recorded in status, and
// Kaniko Job names are deterministic, so a restart observes the same build). What to do next
// and what a build's state means are pure policies (policies/buildAction.ts).
import { ConditionType, EventReason, Reason } from '../../api/v1alpha1/conditions.js';
import {
  imageBuildHash,
  type Builder,
  type BuildRequest,
  type Builders,
  type BuildState,
} from '../../builders/builder.js';
import { renderTag, tagHasBuildHash } from '../../children/template.js';
import { parseRepository, type RepositoryRef } from '../../clients/ecr.js';
import { Stalling } from '../../runtime/errors.js';
import { fromEcr } from '../ecrCalls.js';
import { markStep, next, observeStep, wait, type ReconcileContext, type StepResult } from '../context.js';
import { judgeBuild, judgeExistingTag, needsEcrDigest, nextBuildAction } from '../policies/buildAction.js';
import { RunFailed } from '../run.js';
import { buildKey, type ImagePlan, type RunPlan } from './planRun.js';

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
  // The image's identity: what makes its content. In the tag when the template names it; else
  // recorded with the image and in history, and checked before a tag is reused.
  const buildHash = imageBuildHash(images.build);
  const hashInTag = tagHasBuildHash(images.image.tagTemplate);
  const tag = renderTag(images.image.tagTemplate, { ...model, buildHash });
  const build = boundBuild(ctx.deps.pipeline.builders, images, {
    md: ctx.md,
    model,
    repo,
    tag,
    buildHash: buildKey(images, plan.run.retryToken),
  });
  const image = `${repo.uri}:${tag}`;
  const pollMs = Math.max(BUILD_POLL_MS, build.pollIntervalMs);
  const building = (message: string, afterMs = pollMs) => wait(Reason.Building, message, afterMs);

  const useImage = (digest: string, reused: boolean): StepResult<ServingImage> => {
    const ref = `${repo.uri}@${digest}`;
    status.image = { ref, tag, digest, builtFor: model.version, buildHash, ...(reused ? { reused } : {}) };
    const rule = hashInTag
      ? `the tag carries build hash ${buildHash}`
      : `the tag template has no {buildHash}: build hash ${buildHash} is recorded and checked before a reuse`;
    mark('True', reused ? Reason.ImageReused : Reason.Built, `${image} is ${digest}; ${rule}`);
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

  /** How the build named `name` is doing, and what that means for the run. */
  const observe = async (name: string): Promise<StepResult<ServingImage>> => {
    const state: BuildState = await build.observe(name);
    const inEcr = needsEcrDigest(state) ? await fromEcrFor(() => ecr.digestOfTag(repo, tag)) : undefined;
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
      await fromEcrFor(() => ensureRepositories(ctx, images, repo));
      const existing = await fromEcrFor(() => ecr.digestOfTag(repo, tag));
      if (existing) {
        const verdict = judgeExistingTag({
          digest: existing,
          buildHash,
          tagHasBuildHash: hashInTag,
          history: status.history ?? [],
          ownBuild: await build.find(),
          tag,
        });
        if (verdict.kind === 'refuse') {
          mark('False', verdict.reason, verdict.message);
          throw new Stalling(verdict.reason, verdict.message);
        }
        if (verdict.kind === 'reuse') return useImage(existing, true);
        // Our own build pushed it before a crash lost its record: a build, not a reuse.
        status.build = {
          builder: images.builder,
          name: verdict.name,
          version: model.version,
          startedAt: verdict.startedAt,
        };
        return observe(verdict.name);
      }
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
      return observe(action.name);
  }
}
interface BoundBuild {
  pollIntervalMs: number;
  start(): Promise<string>;
  observe(name: string): Promise<BuildState>;
  find(): Promise<{ name: string; startedAt: string } | undefined>;
}

/** The plan's builder with this run's request bound to it. */
function boundBuild(
  builders: Builders,
  images: BuiltImage,
  req: Omit<BuildRequest<unknown>, 'build'>,
): BoundBuild {
  const bind = <B>(builder: Builder<B>, build: B) => ({
    pollIntervalMs: builder.pollIntervalMs,
    start: () => builder.start({ ...req, build }),
    observe: (name: string) => builder.observe({ ...req, build }, name),
    find: () => builder.find({ ...req, build }),
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

const fromEcrFor = <T>(call: () => Promise<T>): Promise<T> =>
  fromEcr(call, "the operator's AWS permissions and spec.image");
