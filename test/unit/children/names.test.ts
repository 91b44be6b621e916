import { describe, expect, it } from '@jest/globals';
import {
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_MODEL_VERSION,
  MANAGED_BY,
  buildJobName,
  childLabels,
  shortHash,
  stableJson,
  testJobName,
} from '../../../src/children/names.js';

// What a Job name must be to also be a Pod label value: a DNS-1123 label.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('stableJson', () => {
  it.each<{ name: string; a: unknown; b: unknown }>([
    { name: 'top-level key order', a: { a: 1, b: 2 }, b: { b: 2, a: 1 } },
    {
      name: 'nested key order',
      a: { x: { p: 1, q: [{ m: 1, n: 2 }] }, y: 'z' },
      b: { y: 'z', x: { q: [{ n: 2, m: 1 }], p: 1 } },
    },
    { name: 'undefined values dropped', a: { a: 1, b: undefined }, b: { a: 1 } },
  ])('is independent of $name', ({ a, b }) => {
    expect(stableJson(a)).toBe(stableJson(b));
  });

  it.each<{ value: unknown; out: string }>([
    { value: { b: 1, a: 'x' }, out: '{"a":"x","b":1}' },
    { value: [3, 1, 2], out: '[3,1,2]' },
    { value: 'str', out: '"str"' },
    { value: 42, out: '42' },
    { value: null, out: 'null' },
    { value: true, out: 'true' },
    { value: { a: null }, out: '{"a":null}' },
    { value: {}, out: '{}' },
  ])('$value → $out', ({ value, out }) => {
    expect(stableJson(value)).toBe(out);
  });

  it('keeps array order (order in an array is meaning)', () => {
    expect(stableJson([1, 2])).not.toBe(stableJson([2, 1]));
  });

  it('sorts keys by code unit, not locale', () => {
    expect(stableJson({ b: 1, B: 2, a: 3 })).toBe('{"B":2,"a":3,"b":1}');
  });
});

describe('shortHash', () => {
  it('is 8 hex characters by default, and as long as asked', () => {
    expect(shortHash({ a: 1 })).toMatch(/^[0-9a-f]{8}$/);
    expect(shortHash({ a: 1 }, 12)).toMatch(/^[0-9a-f]{12}$/);
    expect(shortHash({ a: 1 }, 12).startsWith(shortHash({ a: 1 }))).toBe(true);
  });

  it('is stable across calls and key order', () => {
    expect(shortHash({ image: { repository: 'r' }, build: { builder: 'kaniko', context: 'c' } })).toBe(
      shortHash({ build: { context: 'c', builder: 'kaniko' }, image: { repository: 'r' } }),
    );
  });

  it('is a known value (sha256 of the stable JSON)', () => {
    // sha256('{"a":1}') = 015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862
    expect(shortHash({ a: 1 })).toBe('015abd7f');
  });

  it.each<{ a: unknown; b: unknown }>([
    { a: { a: 1 }, b: { a: 2 } },
    { a: { a: '1' }, b: { a: 1 } },
    { a: 'x', b: 'y' },
    { a: [1, 2], b: [2, 1] },
  ])('differs for different values: $a vs $b', ({ a, b }) => {
    expect(shortHash(a)).not.toBe(shortHash(b));
  });
});

const long60 = `churn-${'x'.repeat(54)}`; // a 60-character ModelDeployment name
const nameRows = [
  { md: 'churn', version: '3' },
  { md: long60, version: '3' },
  { md: long60, version: '12345' },
  { md: `${'a'.repeat(44)}-${'b'.repeat(15)}`, version: '7' }, // the build name's cut lands on the '-'
  { md: `${'a'.repeat(40)}.---.xyz`, version: '7' }, // the cut lands inside '.---.'
  { md: 'a'.repeat(253), version: '1' },
];

describe('buildJobName', () => {
  const hash = 'deadbeef';

  it('is <md>-build-v<version>-<hash> when it fits', () => {
    expect(buildJobName('churn', '3', hash)).toBe('churn-build-v3-deadbeef');
  });

  it.each(nameRows)('$md v$version: at most 63, DNS-1123 label, deterministic', ({ md, version }) => {
    const name = buildJobName(md, version, hash);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(DNS_LABEL);
    expect(name.endsWith(`-build-v${version}-${hash}`)).toBe(true);
    expect(name).not.toMatch(/--build/);
    expect(buildJobName(md, version, hash)).toBe(name);
  });

  it('a 60-character name is cut to fit, keeping the version and hash', () => {
    const name = buildJobName(long60, '3', hash);
    expect(name).toHaveLength(63);
    expect(name).toBe(`${long60.slice(0, 63 - '-build-v3-deadbeef'.length)}-build-v3-deadbeef`);
  });

  it.each([
    { name: 'version', a: buildJobName('churn', '3', hash), b: buildJobName('churn', '4', hash) },
    { name: 'build hash', a: buildJobName('churn', '3', hash), b: buildJobName('churn', '3', 'cafebabe') },
    { name: 'object', a: buildJobName('churn', '3', hash), b: buildJobName('churn2', '3', hash) },
  ])('differs by $name', ({ a, b }) => {
    expect(a).not.toBe(b);
  });
});

describe('testJobName', () => {
  const image = `${'1'.repeat(12)}.dkr.ecr.eu-west-1.amazonaws.com/churn@sha256:${'a'.repeat(64)}`;

  it('is <md>-test-v<version>-<12 hex of the image>', () => {
    expect(testJobName('churn', '3', image)).toBe(`churn-test-v3-${shortHash(image, 12)}`);
    expect(testJobName('churn', '3', image)).toMatch(/^churn-test-v3-[0-9a-f]{12}$/);
  });

  it.each(nameRows)('$md v$version: at most 63, DNS-1123 label, deterministic', ({ md, version }) => {
    const name = testJobName(md, version, image);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(DNS_LABEL);
    expect(name).toMatch(new RegExp(`-test-v${version}-[0-9a-f]{12}$`));
    expect(testJobName(md, version, image)).toBe(name);
  });

  it('differs by image and by version', () => {
    const base = testJobName('churn', '3', image);
    expect(testJobName('churn', '3', `${image}#retry`)).not.toBe(base);
    expect(testJobName('churn', '4', image)).not.toBe(base);
  });
});

describe('childLabels', () => {
  it('names the manager, the instance, the component and the model version', () => {
    expect(childLabels('churn', 'image-build', '3')).toEqual({
      'app.kubernetes.io/managed-by': 'mlflow-model-operator',
      'app.kubernetes.io/instance': 'churn',
      'app.kubernetes.io/component': 'image-build',
      'mlops.healthpredict.io/model-version': '3',
    });
  });

  it('uses the exported label keys', () => {
    expect(Object.keys(childLabels('m', 'c', '1'))).toEqual([
      LABEL_MANAGED_BY,
      LABEL_INSTANCE,
      LABEL_COMPONENT,
      LABEL_MODEL_VERSION,
    ]);
    expect(childLabels('m', 'c', '1')[LABEL_MANAGED_BY]).toBe(MANAGED_BY);
  });
});
