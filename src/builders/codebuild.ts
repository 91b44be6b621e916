// Builds with an existing AWS CodeBuild project. The start carries an idempotency token derived
// from (object, version, build spec), so a retried start within CodeBuild's 5-minute window
// returns the same build. The project's buildspec pushes <IMAGE_REPO>:<IMAGE_TAG> and may export
// IMAGE_DIGEST; without it the digest is read from ECR by tag.
import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  StartBuildCommand,
  StopBuildCommand,
  type Build,
} from '@aws-sdk/client-codebuild';
import { createHash } from 'node:crypto';
import { Reason } from '../api/v1alpha1/conditions.js';
import type { CodeBuildBuildSpec } from '../api/v1alpha1/pipeline.js';
import { mergeMaps, renderMap } from '../children/template.js';
import { regionalClients, type AwsClientOptions } from '../clients/awsClients.js';
import type { EcrRepositories } from '../clients/ecr.js';
import {
  DIGEST,
  modelBuildArgs,
  type Builder,
  type BuildRequest,
  type BuildState,
  type CancelTarget,
} from './builder.js';
import { Stalling } from '../runtime/errors.js';

export class CodeBuildBuilder implements Builder<CodeBuildBuildSpec> {
  readonly kind = 'codebuild' as const;
  // CodeBuild takes minutes to provision and build; there is nothing to watch, so poll gently.
  readonly pollIntervalMs = 15_000;
  private readonly client: (region: string) => CodeBuildClient;

  constructor(
    private readonly ecr: EcrRepositories,
    options: AwsClientOptions = {},
  ) {
    this.client = regionalClients((config) => new CodeBuildClient(config), options);
  }

  async start(req: BuildRequest<CodeBuildBuildSpec>): Promise<string> {
    try {
      return await this.startBuild(req);
    } catch (err) {
      throw startFailure(err, req.build.codebuild.projectName, req.repo.region);
    }
  }

  private async startBuild(req: BuildRequest<CodeBuildBuildSpec>): Promise<string> {
    const { md, model, build, repo, tag } = req;
    const env = mergeMaps(
      { IMAGE_REPO: repo.uri, IMAGE_TAG: tag },
      modelBuildArgs(model),
      renderMap(build.buildArgs, model),
    );
    const out = await this.client(repo.region).send(
      new StartBuildCommand({
        projectName: build.codebuild.projectName,
        idempotencyToken: createHash('sha256')
          .update(`${md.metadata.uid}:${model.version}:${req.buildHash}`)
          .digest('hex'),
        environmentVariablesOverride: env.map(([name, value]) => ({
          name,
          value,
          type: 'PLAINTEXT',
        })),
        timeoutInMinutesOverride: Math.max(5, Math.ceil((build.activeDeadlineSeconds ?? 1800) / 60)),
      }),
    );
    if (!out.build?.id) throw new Error('CodeBuild StartBuild returned no build id');
    return out.build.id;
  }

  async observe(req: BuildRequest<CodeBuildBuildSpec>, id: string): Promise<BuildState> {
    const out = await this.client(req.repo.region).send(new BatchGetBuildsCommand({ ids: [id] }));
    const build = out.builds?.find((b) => b.id === id);
    if (!build) return { phase: 'Missing' };
    // ECR is only asked when its answer counts: a success that exported no usable digest.
    const registryDigest =
      build.buildStatus === 'SUCCEEDED' && !DIGEST.test(exportedDigest(build) ?? '')
        ? await this.ecr.digestOfTag(req.repo, req.tag)
        : undefined;
    return codeBuildOutcome(id, build, registryDigest);
  }

  // Build ids are random: only status.build knows this request's build.
  async find(): Promise<undefined> {
    return undefined;
  }

  async cancel({ region }: CancelTarget, id: string): Promise<void> {
    try {
      await this.client(region).send(new StopBuildCommand({ id }));
    } catch (err) {
      // Gone, or already finished (CodeBuild refuses to stop those): nothing left to stop.
      const name = (err as { name?: string }).name;
      if (name !== 'ResourceNotFoundException' && name !== 'InvalidInputException') throw err;
    }
  }
}

/** StartBuild failures no retry can fix stall; the rest pass on to be retried. */
export function startFailure(err: unknown, projectName: string, region: string): unknown {
  if ((err as { name?: string } | null)?.name === 'ResourceNotFoundException') {
    return new Stalling(
      Reason.BuildProjectNotFound,
      `CodeBuild project "${projectName}" does not exist in ${region}; create it or fix spec.build.codebuild.projectName`,
    );
  }
  return err;
}

const exportedDigest = (build: Build) =>
  build.exportedEnvironmentVariables?.find((v) => v.name === 'IMAGE_DIGEST')?.value?.trim();

/** A CodeBuild build as a build result; `registryDigest` is what ECR has for the tag. Pure. */
export function codeBuildOutcome(id: string, build: Build, registryDigest: string | undefined): BuildState {
  switch (build.buildStatus) {
    case 'IN_PROGRESS':
    case undefined:
      return {
        phase: 'Running',
        message: `CodeBuild build "${id}" is in phase ${build.currentPhase ?? 'unknown'}`,
      };
    case 'SUCCEEDED': {
      const exported = exportedDigest(build);
      const digest = exported && DIGEST.test(exported) ? exported : registryDigest;
      if (digest) return { phase: 'Succeeded', digest };
      return {
        phase: 'Failed',
        reason: Reason.BuildDigestMissing,
        message: `CodeBuild build "${id}" succeeded but exported no IMAGE_DIGEST and pushed no image with the expected tag`,
      };
    }
    default: {
      const why = (build.phases ?? [])
        .flatMap((p) => p.contexts ?? [])
        .map((c) => c.message)
        .filter(Boolean)
        .join('; ');
      return {
        phase: 'Failed',
        reason: Reason.BuildFailed,
        message: `CodeBuild build "${id}" ended ${build.buildStatus}${why ? `: ${why}` : ''}`.slice(0, 1024),
      };
    }
  }
}
