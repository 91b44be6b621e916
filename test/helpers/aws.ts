// moto's ECR and CodeBuild, reached the way the operator reaches AWS: explicit endpoint, fake keys.
import { CodeBuildClient, CreateProjectCommand } from '@aws-sdk/client-codebuild';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { createHash } from 'node:crypto';
import { bed } from './bed.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
export const registryHost = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;

const common = () => ({
  region: REGION,
  endpoint: bed.motoUrl,
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  maxAttempts: 1,
});

const ecr = () => new ECRClient(common());
const codebuild = () => new CodeBuildClient(common());

export async function createRepository(name: string): Promise<void> {
  await ecr().send(new CreateRepositoryCommand({ repositoryName: name }));
}

export async function describeRepository(name: string) {
  const out = await ecr().send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
  return out.repositories?.[0];
}

/** The digest ECR holds for `repo:tag`, or undefined. */
export async function digestOf(repo: string, tag: string): Promise<string | undefined> {
  try {
    const out = await ecr().send(
      new DescribeImagesCommand({ repositoryName: repo, imageIds: [{ imageTag: tag }] }),
    );
    return out.imageDetails?.[0]?.imageDigest;
  } catch {
    return undefined;
  }
}

/** Pushes a small image manifest as `repo:tag`, as a build system would; returns its digest. */
export async function pushImage(repo: string, tag: string, seed = `${repo}:${tag}`): Promise<string> {
  const layer = `sha256:${createHash('sha256').update(seed).digest('hex')}`;
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: 100, digest: layer },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 10, digest: layer }],
  });
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  await ecr().send(
    new PutImageCommand({
      repositoryName: repo,
      imageTag: tag,
      imageManifest: manifest,
      imageDigest: digest,
    }),
  );
  return digest;
}

export async function createCodeBuildProject(name: string): Promise<void> {
  await codebuild().send(
    new CreateProjectCommand({
      name,
      source: { type: 'NO_SOURCE', location: 'none', buildspec: 'version: 0.2' },
      artifacts: { type: 'NO_ARTIFACTS' },
      environment: {
        type: 'LINUX_CONTAINER',
        image: 'aws/codebuild/standard:7.0',
        computeType: 'BUILD_GENERAL1_SMALL',
        privilegedMode: true,
      },
      serviceRole: `arn:aws:iam::${ACCOUNT}:role/codebuild`,
    }),
  );
}

// moto's request recorder (/moto-api/recorder): what the operator really sent to AWS, for calls
// whose effect moto does not show (BatchGetBuilds reports every build SUCCEEDED, even a stopped one).
const recorder = async (action: string): Promise<string> => {
  const res = await fetch(`${bed.motoUrl}/moto-api/recorder/${action}`, {
    method: action === 'download-recording' ? 'GET' : 'POST',
  });
  if (!res.ok) throw new Error(`moto recorder ${action}: ${res.status}`);
  return res.text();
};

/** Starts recording the requests moto receives, from an empty record. */
export async function startMotoRecording(): Promise<void> {
  await recorder('reset-recording');
  await recorder('start-recording');
}

export async function stopMotoRecording(): Promise<void> {
  await recorder('stop-recording');
}

/** The JSON bodies of the recorded requests for one AWS JSON-protocol operation, e.g.
 * `CodeBuild_20161006.StopBuild`. */
export async function recordedCalls(target: string): Promise<Record<string, unknown>[]> {
  const lines = (await recorder('download-recording')).split('\n').filter(Boolean);
  return lines
    .map((l) => JSON.parse(l) as { headers: Record<string, string>; body: string; body_encoded: boolean })
    .filter((e) =>
      Object.entries(e.headers).some(([k, v]) => k.toLowerCase() === 'x-amz-target' && v === target),
    )
    .map(
      (e) =>
        JSON.parse(e.body_encoded ? Buffer.from(e.body, 'base64').toString('utf8') : e.body) as Record<
          string,
          unknown
        >,
    );
}
