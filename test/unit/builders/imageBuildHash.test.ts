// imageBuildHash: what makes an image's content changes it; how a build runs does not.
import { describe, expect, it } from '@jest/globals';
import { DEFAULT_EXECUTOR_IMAGE, type BuildSpec } from '../../../src/api/v1alpha1/pipeline.js';
import { imageBuildHash } from '../../../src/builders/builder.js';

const base: BuildSpec = {
  builder: 'kaniko',
  context: 'git://git.example/acme/serving.git',
  dockerfile: 'Dockerfile',
  buildArgs: { A: '1' },
  activeDeadlineSeconds: 1800,
  executorImage: DEFAULT_EXECUTOR_IMAGE,
};
const hash = (extra: Partial<BuildSpec>) => imageBuildHash({ ...base, ...extra });

describe('imageBuildHash', () => {
  it.each<[string, Partial<BuildSpec>]>([
    ['context', { context: 'git://git.example/acme/other.git' }],
    ['Dockerfile', { dockerfile: 'serving/Dockerfile' }],
    ['a build arg', { buildArgs: { A: '2' } }],
    ['another build arg', { buildArgs: { A: '1', B: '1' } }],
    ['executor image', { executorImage: 'kaniko:other' }],
    ['builder', { builder: 'codebuild', codebuild: { projectName: 'p' } }],
  ])('changes with the %s', (_name, extra) => {
    expect(hash(extra)).not.toBe(hash({}));
  });

  it.each<[string, Partial<BuildSpec>]>([
    ['deadline', { activeDeadlineSeconds: 60 }],
    ['service account', { serviceAccountName: 'builder' }],
    ['resources', { resources: { limits: { memory: '4Gi' } } }],
    ['cache repository', { cacheRepository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/cache' }],
    ['defaults left out', { dockerfile: undefined, executorImage: undefined } as Partial<BuildSpec>],
  ])('stays with the %s', (_name, extra) => {
    expect(hash(extra)).toBe(hash({}));
  });

  it('tells CodeBuild projects apart', () => {
    const cb = (projectName: string) =>
      imageBuildHash({
        builder: 'codebuild',
        dockerfile: 'Dockerfile',
        codebuild: { projectName },
      } as BuildSpec);
    expect(cb('a')).not.toBe(cb('b'));
    expect(cb('a')).toMatch(/^[0-9a-f]{8}$/);
  });
});
