// Amazon ECR: make sure the repository exists, find an image by tag, confirm a digest.
// Errors the user must fix (access denied, a repository name ECR refuses) become EcrError with
// `userError`; the rest are transient.
import { CreateRepositoryCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { ECR_REPOSITORY } from '../api/v1alpha1/pipeline.js';
import { describeError } from '../runtime/errors.js';
import { regionalClients, type AwsClientOptions } from './awsClients.js';

export interface RepositoryRef {
  registryId: string;
  region: string;
  name: string;
  /** <host>/<name>, as written in the spec. */
  uri: string;
}

export function parseRepository(uri: string): RepositoryRef {
  const m = ECR_REPOSITORY.exec(uri);
  if (!m) throw new EcrError(`"${uri}" is not an ECR repository URI`, true);
  return { registryId: m[1] as string, region: m[2] as string, name: m[4] as string, uri };
}

export class EcrError extends Error {
  override readonly name = 'EcrError';
  constructor(
    message: string,
    readonly userError: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const USER_ERRORS = new Set([
  'AccessDeniedException',
  'InvalidParameterException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'LimitExceededException',
]);

/** The ECR repositories the operator pushes to and reads from. */
export class EcrRepositories {
  private readonly client: (region: string) => ECRClient;

  constructor(options: AwsClientOptions = {}) {
    this.client = regionalClients((config) => new ECRClient(config), options);
  }

  /** Creates the repository unless it exists; settings apply only to a new one. */
  async ensureRepository(
    repo: RepositoryRef,
    settings: { scanOnPush: boolean; tagMutability: string },
  ): Promise<boolean> {
    try {
      await this.client(repo.region).send(
        new CreateRepositoryCommand({
          registryId: repo.registryId,
          repositoryName: repo.name,
          imageScanningConfiguration: { scanOnPush: settings.scanOnPush },
          imageTagMutability: settings.tagMutability as 'MUTABLE' | 'IMMUTABLE',
        }),
      );
      return true;
    } catch (err) {
      if ((err as Error).name === 'RepositoryAlreadyExistsException') return false;
      throw this.wrap(err, `creating ECR repository ${repo.uri}`);
    }
  }

  /** The digest of `tag`, or undefined when the repository has no such tag. */
  async digestOfTag(repo: RepositoryRef, tag: string): Promise<string | undefined> {
    try {
      const out = await this.client(repo.region).send(
        new DescribeImagesCommand({
          registryId: repo.registryId,
          repositoryName: repo.name,
          imageIds: [{ imageTag: tag }],
        }),
      );
      return out.imageDetails?.[0]?.imageDigest;
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'ImageNotFoundException' || name === 'RepositoryNotFoundException') return undefined;
      throw this.wrap(err, `looking up ${repo.uri}:${tag}`);
    }
  }

  private wrap(err: unknown, doing: string): EcrError {
    const { name } = err as Error;
    return new EcrError(`${doing} failed: ${describeError(err)}`, USER_ERRORS.has(name), { cause: err });
  }
}
