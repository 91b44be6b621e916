// Env and build-arg names that are Object.prototype keys, through every renderer.
import { describe, expect, it } from '@jest/globals';
import type { V1EnvVar } from '@kubernetes/client-node';
import type { KanikoBuildSpec, TestSpec } from '../../../src/api/v1alpha1/pipeline.js';
import { renderBuildJob } from '../../../src/builders/kanikoJob.js';
import { shortHash, stableJson } from '../../../src/children/names.js';
import { mergeMaps, renderMap } from '../../../src/children/template.js';
import { containerPatch, mergeEnv } from '../../../src/controller/render/containerPatch.js';
import { renderTestJob } from '../../../src/controller/render/testJob.js';
import { REPO, pipelineMd, resolvedModel } from '../helpers/pipelineFixtures.js';

const NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];
const one = (name: string, value: string) =>
  JSON.parse(JSON.stringify({ [name]: value })) as Record<string, string>;
const model = resolvedModel();

describe.each(NAMES)('the name %s', (name) => {
  it('renderMap keeps it, templated', () => {
    const out = renderMap(one(name, 'v{version}'), model);
    expect(Object.entries(out)).toEqual([[name, `v${model.version}`]]);
    expect(Object.getPrototypeOf(out)).toBeNull();
  });

  it('renderMap of a map without it does not find it', () => {
    expect(Object.hasOwn(renderMap({ A: 'b' }, model), name)).toBe(false);
    expect(renderMap({ A: 'b' }, model)[name]).toBeUndefined();
  });

  it('mergeMaps keeps it and lets later maps win', () => {
    expect(mergeMaps(one(name, 'a'), { B: 'b' }, one(name, 'c'))).toEqual([
      [name, 'c'],
      ['B', 'b'],
    ]);
  });

  it('mergeEnv replaces it in place when wanted', () => {
    const current: V1EnvVar[] = [
      { name, value: 'old' },
      { name: 'X', value: '1' },
    ];
    expect(mergeEnv(current, one(name, 'new'))).toEqual([
      { name, value: 'new' },
      { name: 'X', value: '1' },
    ]);
  });

  it('mergeEnv leaves it alone when not wanted (no value from the prototype)', () => {
    const current: V1EnvVar[] = [{ name, value: 'kept' }];
    expect(mergeEnv(current, { A: 'b' })).toEqual([
      { name, value: 'kept' },
      { name: 'A', value: 'b' },
    ]);
  });

  it('containerPatch: applied once, then up to date', () => {
    const env = one(name, 'v');
    const dep = (e: V1EnvVar[]) => ({
      spec: { selector: {}, template: { spec: { containers: [{ name: 'api', image: 'a:1', env: e }] } } },
    });
    const first = containerPatch(dep([{ name: 'K', value: '1' }]), { container: 'api', image: 'a:1', env });
    expect(first.kind).toBe('patch');
    const patched = first.kind === 'patch' ? (first.ops[2] as { value: V1EnvVar[] }).value : [];
    expect(patched).toEqual([
      { name: 'K', value: '1' },
      { name, value: 'v' },
    ]);
    expect(containerPatch(dep(patched), { container: 'api', image: 'a:1', env }).kind).toBe('upToDate');
    // Present on the container but not wanted: nothing to do either.
    expect(containerPatch(dep(patched), { container: 'api', image: 'a:1', env: { K: '1' } }).kind).toBe(
      'upToDate',
    );
  });

  it('the test Job carries it', () => {
    const md = pipelineMd({ test: { image: 'acme/t:1', env: one(name, 'x-{version}') } });
    const job = renderTestJob({
      md,
      model,
      test: md.spec.test as TestSpec,
      serviceName: 'd',
      runKey: 'k',
    });
    expect(job.spec?.template.spec?.containers[0]?.env).toContainEqual({ name, value: `x-${model.version}` });
  });

  it('the build Job passes it as a --build-arg', () => {
    const md = pipelineMd({ build: { builder: 'kaniko', context: 'git://x/y', buildArgs: one(name, 'b') } });
    const job = renderBuildJob({
      md,
      model,
      build: md.spec.build as KanikoBuildSpec,
      destination: `${REPO}:t`,
      buildHash: 'h',
      region: 'eu-west-1',
    });
    expect(job.spec?.template.spec?.containers[0]?.args).toContain(`--build-arg=${name}=b`);
  });

  it('stableJson and shortHash see it: with and without it hash differently', () => {
    expect(stableJson(one(name, 'x'))).toBe(`{${JSON.stringify(name)}:"x"}`);
    expect(shortHash({ env: one(name, 'x') })).not.toBe(shortHash({ env: {} }));
    expect(shortHash(renderMap(one(name, 'x'), model))).toBe(shortHash(one(name, 'x')));
  });
});
