// Step 2: decide whether the resolved version needs a deployment run (policies/decideRun.ts),
// start it when it does, and hand the later steps a plan narrowed to what they need: no later
// step reads an optional spec field again.
import { EventReason, Reason, RunResult } from '../../api/v1alpha1/conditions.js';
import {
  RETRY_ANNOTATION,
  type ModelDeploymentSpec,
  type ResolvedModel,
} from '../../api/v1alpha1/modelDeployment.js';
import {
  pipelineRule,
  type CodeBuildBuildSpec,
  type DeploymentTarget,
  type ImageSpec,
  type KanikoBuildSpec,
  type Run,
  type TestSpec,
} from '../../api/v1alpha1/pipeline.js';
import { buildJobName, shortHash } from '../../children/names.js';
import { parseRepository } from '../../clients/ecr.js';
import { Stalling } from '../../runtime/errors.js';
import { next, type ReconcileContext, type StepResult } from '../context.js';
import { decideRun } from '../policies/decideRun.js';
import { cancelSupersededWork, pipelineHash, RunFailed, startRun, type OwnWork } from '../run.js';

/** How the serving image is made: not at all (builder none), or by a builder into ECR. */
export type ImagePlan =
  | { builder: 'none' }
  | { builder: 'kaniko'; build: KanikoBuildSpec; image: ImageSpec }
  | { builder: 'codebuild'; build: CodeBuildBuildSpec; image: ImageSpec };

/** What the build → rollout → test steps work from. */
export interface RunPlan {
  model: ResolvedModel;
  run: Run;
  images: ImagePlan;
  deployment: DeploymentTarget;
  test: TestSpec | undefined;
}

/** The version is deployed with this spec: what the drift check compares the container with. */
export interface Deployed {
  kind: 'deployed';
  model: ResolvedModel;
  deployment: DeploymentTarget;
}

export async function planRun(
  ctx: ReconcileContext,
  model: ResolvedModel,
): Promise<StepResult<RunPlan> | Deployed> {
  const { spec, md } = ctx;
  const { deployment, test } = spec;
  if (!deployment) return { kind: 'done' }; // resolve-only ModelDeployment
  const plan = (run: Run, images = imagePlan(spec)): RunPlan => ({ model, run, images, deployment, test });
  const retryToken = md.metadata.annotations?.[RETRY_ANNOTATION];
  const specHash = pipelineHash(spec);
  const decision = decideRun({ run: ctx.status.currentRun, version: model.version, specHash, retryToken });
  switch (decision.kind) {
    case 'deployed':
      return { kind: 'deployed', model, deployment };
    case 'inProgress':
      return next(plan(decision.run));
    case 'failedBefore': {
      const { run } = decision;
      const rolledBack = run.result === RunResult.RolledBack;
      throw new RunFailed(
        rolledBack ? Reason.RolledBack : (run.reason ?? Reason.RunFailed),
        `${run.message ?? `deploying version ${run.version} failed`}; deploy a new version, change the spec, ` +
          `or set the annotation ${RETRY_ANNOTATION} to a new value to retry`,
        rolledBack,
      );
    }
    case 'start': {
      const images = imagePlan(spec);
      await cancelSupersededWork(ctx, ownWork(ctx, model, images, retryToken));
      const run = startRun(ctx, model, specHash, retryToken);
      ctx.events.push({
        type: 'Normal',
        reason: EventReason.DeploymentStarted,
        message: `Deploying version ${model.version} of "${model.name}"${decision.retry ? ' again (retry requested)' : ''}`,
      });
      return next(plan(run, images));
    }
  }
}

/** The key a run's builds are named by: the build spec and the retry token (a retry builds
 * afresh: a new Job name, a new CodeBuild idempotency token). */
export const buildKey = (images: BuiltImage, retryToken: string | undefined): string =>
  shortHash({ image: images.image, build: images.build, retry: retryToken });

type BuiltImage = Exclude<ImagePlan, { builder: 'none' }>;

/** The new run's own build Job (a crash after its start may have left it) and the region of its
 * registry. */
function ownWork(
  ctx: ReconcileContext,
  model: ResolvedModel,
  images: ImagePlan,
  retryToken: string | undefined,
): OwnWork {
  if (images.builder === 'none') return { buildJob: undefined, region: undefined };
  const { region } = parseRepository(images.image.repository);
  if (images.builder !== 'kaniko') return { buildJob: undefined, region };
  return {
    buildJob: buildJobName(ctx.md.metadata.name, model.version, buildKey(images, retryToken)),
    region,
  };
}

/** The build spec narrowed by builder. The CRD's CEL rules (and the strict schema the reconciler
 * checks first) make the refusals unreachable; they keep the types honest. */
function imagePlan(spec: ModelDeploymentSpec): ImagePlan {
  const { build, image } = spec;
  if (!build || build.builder === 'none') return { builder: 'none' };
  if (!image) throw invalid(pipelineRule.needsImage.message);
  if (build.builder === 'kaniko') {
    if (build.context === undefined) throw invalid(pipelineRule.needsContext.message);
    return { builder: 'kaniko', build: { ...build, builder: 'kaniko', context: build.context }, image };
  }
  if (build.codebuild === undefined) throw invalid(pipelineRule.needsProject.message);
  return {
    builder: 'codebuild',
    build: { ...build, builder: 'codebuild', codebuild: build.codebuild },
    image,
  };
}

const invalid = (message: string) => new Stalling(Reason.InvalidSpec, `${message}; fix the ModelDeployment`);
