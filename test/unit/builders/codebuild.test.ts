import { describe, expect, it } from '@jest/globals';
import type { Build, BuildPhase, StatusType } from '@aws-sdk/client-codebuild';
import type { BuildState } from '../../../src/builders/builder.js';
import { codeBuildOutcome, startFailure } from '../../../src/builders/codebuild.js';
import { Stalling } from '../../../src/runtime/errors.js';
import { DIGEST_A, DIGEST_B } from '../helpers/pipelineFixtures.js';

const ID = 'churn-image:0a1b2c3d-0000-4000-8000-000000000000';

const build = (buildStatus: StatusType | undefined, extra: Partial<Build> = {}): Build => ({
  id: ID,
  ...(buildStatus ? { buildStatus } : {}),
  ...extra,
});
const exported = (value: string) => ({ exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value }] });

describe('codeBuildOutcome: running', () => {
  it.each<{ name: string; b: Build; message: string }>([
    {
      name: 'IN_PROGRESS in a phase',
      b: build('IN_PROGRESS', { currentPhase: 'BUILD' }),
      message: `CodeBuild build "${ID}" is in phase BUILD`,
    },
    {
      name: 'IN_PROGRESS without a phase',
      b: build('IN_PROGRESS'),
      message: `CodeBuild build "${ID}" is in phase unknown`,
    },
    {
      name: 'no status yet',
      b: build(undefined, { currentPhase: 'QUEUED' }),
      message: `CodeBuild build "${ID}" is in phase QUEUED`,
    },
  ])('$name → Running', ({ b, message }) => {
    expect(codeBuildOutcome(ID, b, undefined)).toEqual({ phase: 'Running', message });
  });

  it('a digest already in ECR does not end a running build', () => {
    expect(codeBuildOutcome(ID, build('IN_PROGRESS'), DIGEST_A).phase).toBe('Running');
  });
});

describe('codeBuildOutcome: succeeded', () => {
  const missing: BuildState = {
    phase: 'Failed',
    reason: 'BuildDigestMissing',
    message: `CodeBuild build "${ID}" succeeded but exported no IMAGE_DIGEST and pushed no image with the expected tag`,
  };

  it.each<{ name: string; b: Build; registry: string | undefined; state: BuildState }>([
    {
      name: 'exported IMAGE_DIGEST wins over the registry',
      b: build('SUCCEEDED', exported(DIGEST_A)),
      registry: DIGEST_B,
      state: { phase: 'Succeeded', digest: DIGEST_A },
    },
    {
      name: 'exported IMAGE_DIGEST, nothing in the registry',
      b: build('SUCCEEDED', exported(DIGEST_A)),
      registry: undefined,
      state: { phase: 'Succeeded', digest: DIGEST_A },
    },
    {
      name: 'exported IMAGE_DIGEST with blanks is trimmed',
      b: build('SUCCEEDED', exported(` ${DIGEST_A}\n`)),
      registry: undefined,
      state: { phase: 'Succeeded', digest: DIGEST_A },
    },
    {
      name: 'IMAGE_DIGEST among other exported variables',
      b: build('SUCCEEDED', {
        exportedEnvironmentVariables: [
          { name: 'OTHER', value: DIGEST_B },
          { name: 'IMAGE_DIGEST', value: DIGEST_A },
        ],
      }),
      registry: undefined,
      state: { phase: 'Succeeded', digest: DIGEST_A },
    },
    {
      name: 'no export: the registry digest',
      b: build('SUCCEEDED'),
      registry: DIGEST_B,
      state: { phase: 'Succeeded', digest: DIGEST_B },
    },
    {
      name: 'malformed export: the registry digest',
      b: build('SUCCEEDED', exported('latest')),
      registry: DIGEST_B,
      state: { phase: 'Succeeded', digest: DIGEST_B },
    },
    {
      name: 'empty export: the registry digest',
      b: build('SUCCEEDED', exported('')),
      registry: DIGEST_B,
      state: { phase: 'Succeeded', digest: DIGEST_B },
    },
    {
      name: 'export without a value: the registry digest',
      b: build('SUCCEEDED', { exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST' }] }),
      registry: DIGEST_B,
      state: { phase: 'Succeeded', digest: DIGEST_B },
    },
    { name: 'neither', b: build('SUCCEEDED'), registry: undefined, state: missing },
    {
      name: 'malformed export, nothing in ECR',
      b: build('SUCCEEDED', exported('sha256:12')),
      registry: undefined,
      state: missing,
    },
    {
      name: 'other variables only',
      b: build('SUCCEEDED', { exportedEnvironmentVariables: [{ name: 'X', value: DIGEST_A }] }),
      registry: undefined,
      state: missing,
    },
  ])('$name', ({ b, registry, state }) => {
    expect(codeBuildOutcome(ID, b, registry)).toEqual(state);
  });
});

describe('codeBuildOutcome: failed', () => {
  const phases: BuildPhase[] = [
    { phaseType: 'SUBMITTED', phaseStatus: 'SUCCEEDED', contexts: [{ statusCode: '', message: '' }] },
    { phaseType: 'PROVISIONING', phaseStatus: 'SUCCEEDED' },
    {
      phaseType: 'BUILD',
      phaseStatus: 'FAILED',
      contexts: [
        { statusCode: 'COMMAND_EXECUTION_ERROR', message: 'Error while executing command: docker build' },
      ],
    },
    {
      phaseType: 'POST_BUILD',
      phaseStatus: 'FAILED',
      contexts: [{ statusCode: 'COMMAND_EXECUTION_ERROR', message: 'Reason: exit status 1' }],
    },
  ];

  it.each<StatusType>(['FAILED', 'FAULT', 'TIMED_OUT', 'STOPPED'])(
    '%s → Failed BuildFailed with the phase context messages',
    (status) => {
      expect(codeBuildOutcome(ID, build(status, { phases }), DIGEST_A)).toEqual({
        phase: 'Failed',
        reason: 'BuildFailed',
        message: `CodeBuild build "${ID}" ended ${status}: Error while executing command: docker build; Reason: exit status 1`,
      });
    },
  );

  it.each<{ name: string; b: Build }>([
    { name: 'no phases', b: build('FAILED') },
    { name: 'phases without contexts', b: build('FAILED', { phases: [{ phaseType: 'BUILD' }] }) },
    {
      name: 'contexts without messages',
      b: build('FAILED', { phases: [{ contexts: [{ statusCode: 'X' }] }] }),
    },
  ])('$name → just the status', ({ b }) => {
    expect(codeBuildOutcome(ID, b, undefined)).toEqual({
      phase: 'Failed',
      reason: 'BuildFailed',
      message: `CodeBuild build "${ID}" ended FAILED`,
    });
  });

  it('a long message is cut to 1024 characters', () => {
    const b = build('FAILED', { phases: [{ contexts: [{ message: 'x'.repeat(3000) }] }] });
    const out = codeBuildOutcome(ID, b, undefined);
    expect(out.phase === 'Failed' && out.message.length).toBe(1024);
  });

  it('a failed build is failed even when ECR has the tag', () => {
    expect(codeBuildOutcome(ID, build('FAILED', exported(DIGEST_A)), DIGEST_A).phase).toBe('Failed');
  });
});

describe('startFailure: what StartBuild errors mean', () => {
  const awsError = (name: string, message: string) =>
    Object.assign(new Error(message), { name, $metadata: {} });

  it('a project that does not exist stalls as BuildProjectNotFound, naming the field to fix', () => {
    const err = startFailure(
      awsError('ResourceNotFoundException', 'Project cannot be found: arn:…'),
      'img',
      'us-east-1',
    );
    expect(err).toBeInstanceOf(Stalling);
    expect(err).toMatchObject({ reason: 'BuildProjectNotFound' });
    expect((err as Error).message).toBe(
      'CodeBuild project "img" does not exist in us-east-1; create it or fix spec.build.codebuild.projectName',
    );
  });

  it.each(['ThrottlingException', 'InternalFailure', 'TimeoutError'])(
    '%s passes on to be retried',
    (name) => {
      const original = awsError(name, 'x');
      expect(startFailure(original, 'img', 'us-east-1')).toBe(original);
    },
  );
});
