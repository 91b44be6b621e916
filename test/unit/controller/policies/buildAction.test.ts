// nextBuildAction and judgeBuild: what ensureImage does next, and what an observed build means.
import { describe, expect, it } from '@jest/globals';
import type { Run } from '../../../../src/api/v1alpha1/pipeline.js';
import type { BuildState } from '../../../../src/builders/builder.js';
import {
  judgeBuild,
  judgeExistingTag,
  type ExistingTagInput,
  type ExistingTagVerdict,
  needsEcrDigest,
  nextBuildAction,
  type BuildAction,
  type BuildInput,
  type BuildVerdict,
} from '../../../../src/controller/policies/buildAction.js';
import { DIGEST_A, DIGEST_B, REPO } from '../../helpers/pipelineFixtures.js';

const STARTED = '2025-01-01T00:00:00.000Z';
const T0 = Date.parse(STARTED);
const image = { ref: `${REPO}@${DIGEST_A}`, tag: 'v3', digest: DIGEST_A, builtFor: '3' };
const build = { builder: 'kaniko' as const, name: 'churn-build-v3-abc', version: '3', startedAt: STARTED };
const input = (extra: Partial<BuildInput> = {}): BuildInput => ({
  version: '3',
  image: undefined,
  build: undefined,
  nowMs: T0 + 1000,
  pollIntervalMs: 0,
  ...extra,
});

describe('nextBuildAction', () => {
  const table: [string, BuildInput, BuildAction][] = [
    ['nothing recorded: look the tag up in ECR', input(), { kind: 'lookUp' }],
    ['the image of this version is recorded', input({ image, build }), { kind: 'haveImage', ref: image.ref }],
    [
      'an image of another version: look up',
      input({ image: { ...image, builtFor: '2' } }),
      { kind: 'lookUp' },
    ],
    ['a build of another version: look up', input({ build: { ...build, version: '2' } }), { kind: 'lookUp' }],
    ['a watched build of this version: observe', input({ build }), { kind: 'observe', name: build.name }],
    [
      'a polled build asked about too early: wait for the rest of the interval',
      input({ build, pollIntervalMs: 15_000 }),
      { kind: 'waitForPoll', afterMs: 14_000 },
    ],
    [
      'a polled build whose interval passed: observe',
      input({ build, pollIntervalMs: 15_000, nowMs: T0 + 15_000 }),
      { kind: 'observe', name: build.name },
    ],
  ];
  it.each(table)('%s', (_name, given, expected) => {
    expect(nextBuildAction(given)).toEqual(expected);
  });
});

describe('judgeBuild', () => {
  const IMAGE = `${REPO}:v3`;
  const table: [string, BuildState, string | undefined, BuildVerdict][] = [
    [
      'gone, and ECR has the tag: it pushed before it was cleaned up',
      { phase: 'Missing' },
      DIGEST_A,
      { kind: 'use', digest: DIGEST_A },
    ],
    ['gone, and ECR has no tag: start it again', { phase: 'Missing' }, undefined, { kind: 'restart' }],
    [
      'running',
      { phase: 'Running', message: 'job is running' },
      undefined,
      { kind: 'running', message: 'job is running' },
    ],
    [
      'failed: its reason and message',
      { phase: 'Failed', reason: 'BuildFailed', message: 'exit 1' },
      undefined,
      { kind: 'failed', reason: 'BuildFailed', message: 'exit 1' },
    ],
    [
      'succeeded with the digest ECR has',
      { phase: 'Succeeded', digest: DIGEST_A },
      DIGEST_A,
      { kind: 'use', digest: DIGEST_A },
    ],
    [
      'succeeded, but ECR has another digest',
      { phase: 'Succeeded', digest: DIGEST_A },
      DIGEST_B,
      {
        kind: 'failed',
        reason: 'DigestMismatch',
        message: `the build reported ${DIGEST_A} but ${IMAGE} is ${DIGEST_B} in ECR`,
      },
    ],
    [
      'succeeded, but ECR has no such tag',
      { phase: 'Succeeded', digest: DIGEST_A },
      undefined,
      {
        kind: 'failed',
        reason: 'DigestMismatch',
        message: `the build reported ${DIGEST_A} but ECR has no ${IMAGE}`,
      },
    ],
  ];
  it.each(table)('%s', (_name, state, inEcr, expected) => {
    expect(judgeBuild(state, inEcr, IMAGE)).toEqual(expected);
  });

  it('asks ECR only for builds that are gone or say they succeeded', () => {
    const phases: BuildState[] = [
      { phase: 'Missing' },
      { phase: 'Running', message: '' },
      { phase: 'Failed', reason: 'BuildFailed', message: '' },
      { phase: 'Succeeded', digest: DIGEST_A },
    ];
    expect(phases.map(needsEcrDigest)).toEqual([true, false, false, true]);
  });
});

describe('judgeExistingTag', () => {
  const run = (extra: Partial<Run>): Run => ({ version: '2', specHash: 's', startedAt: STARTED, ...extra });
  const own = { name: 'churn-build-v3-abc', startedAt: STARTED };
  const tagInput = (extra: Partial<ExistingTagInput> = {}): ExistingTagInput => ({
    digest: DIGEST_A,
    buildHash: 'hash-new',
    tagHasBuildHash: true,
    history: [],
    ownBuild: undefined,
    tag: 'v3-custom',
    ...extra,
  });
  const deployedA = (buildHash?: string) =>
    run({ image: `${REPO}@${DIGEST_A}`, ...(buildHash ? { buildHash } : {}) });
  const table: [string, ExistingTagInput, ExistingTagVerdict['kind']][] = [
    ['pushed by someone else: reuse', tagInput(), 'reuse'],
    [
      'our own build Job pushed it, nothing deployed it before: a build',
      tagInput({ ownBuild: own }),
      'ownBuild',
    ],
    [
      'our build Job of an earlier run (a rollback): reuse',
      tagInput({ ownBuild: own, history: [deployedA('hash-new')] }),
      'reuse',
    ],
    [
      'template without {buildHash}, history built the digest from another hash: refuse',
      tagInput({ tagHasBuildHash: false, history: [deployedA('hash-old')] }),
      'refuse',
    ],
    [
      'template without {buildHash}, same hash: reuse',
      tagInput({ tagHasBuildHash: false, history: [deployedA('hash-new')] }),
      'reuse',
    ],
    [
      'template without {buildHash}, the hash not recorded (older operator): reuse',
      tagInput({ tagHasBuildHash: false, history: [deployedA()] }),
      'reuse',
    ],
    [
      'template without {buildHash}, another digest built from another hash: not this tag',
      tagInput({ tagHasBuildHash: false, history: [run({ image: `${REPO}@${DIGEST_B}`, buildHash: 'x' })] }),
      'reuse',
    ],
    [
      'the hash in the tag: history cannot contradict it',
      tagInput({ history: [deployedA('hash-old')] }),
      'reuse',
    ],
  ];
  it.each(table)('%s', (_name, given, kind) => {
    expect(judgeExistingTag(given).kind).toBe(kind);
  });

  it('a refusal says which build hashes differ and what to do', () => {
    const verdict = judgeExistingTag(tagInput({ tagHasBuildHash: false, history: [deployedA('hash-old')] }));
    expect(verdict).toEqual({
      kind: 'refuse',
      reason: 'TagBuiltFromOtherSpec',
      message: expect.stringMatching(/hash-old.*hash-new.*add \{buildHash\} to spec\.image\.tagTemplate/),
    });
  });

  it('its own build carries the Job name and start', () => {
    expect(judgeExistingTag(tagInput({ ownBuild: own }))).toEqual({ kind: 'ownBuild', ...own });
  });
});
