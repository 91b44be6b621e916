import { describe, expect, it } from '@jest/globals';
import { renderCrd } from '../../../src/api/v1alpha1/crd.js';
import {
  ALIAS,
  ENV_NAME,
  IMAGE,
  isApiInteger,
  MODEL_NAME,
  RESOURCE_NAME,
} from '../../../src/api/v1alpha1/formats.js';
import { ModelDeploymentSpecStrictSchema, nameIssue } from '../../../src/api/v1alpha1/modelDeployment.js';
import { integerTable, kanikoSpec, quantityTable } from '../../fixtures/formatTables.js';

const valid = (spec: object) => ModelDeploymentSpecStrictSchema.safeParse(spec).success;

describe('the shared tables (the apiserver gives the same verdicts in test/integration/crd.test.ts)', () => {
  it.each(quantityTable)('quantity %j → %s', (value, ok) => {
    expect(valid(kanikoSpec({ resources: { requests: { cpu: value } } }))).toBe(ok);
  });

  it.each(integerTable)('activeDeadlineSeconds %d → %s', (value, ok) => {
    expect(valid(kanikoSpec({ activeDeadlineSeconds: value }))).toBe(ok);
  });
});

describe('isApiInteger, the twin of go-openapi IsFloat64AJSONInteger', () => {
  it.each([
    [0, true],
    [-3, true],
    [60.0000001, true],
    [60.0000002, false],
    [1.000000001, true],
    [1.9999999999, false],
    [1e-19, false],
    [0.5, false],
    [-1.0000000001, false],
    [2 ** 53 - 1, true],
    [2 ** 53 + 2, false],
    [Number.NaN, false],
    [Infinity, false],
  ])('%d → %s', (value, ok) => {
    expect(isApiInteger(value)).toBe(ok);
  });

  it('hands the reconciler the integer the apiserver meant', () => {
    const parsed = ModelDeploymentSpecStrictSchema.parse(kanikoSpec({ activeDeadlineSeconds: 60.0000001 }));
    expect(parsed.build?.activeDeadlineSeconds).toBe(60);
  });
});

describe('regexes', () => {
  it.each([
    ['champion', true],
    ['chámpion', true],
    ['日本', true],
    ['Ω9_-', true],
    ['٣', true],
    ['cha\u0301mpion', false], // a combining mark is no letter to Python's \w
    ['a b', false],
    ['a.b', false],
    ['', false],
  ])('alias %j → %s', (alias, ok) => {
    expect(ALIAS.test(alias)).toBe(ok);
  });

  it.each([
    ['MODEL_URI', true],
    ['my.var-1', true],
    ['_X', true],
    ['.hidden', true],
    ['.1', true],
    ['-x', true],
    ['1BAD', false],
    ['A=B', false],
    ['.', false],
    ['..', false],
    ['..X', false],
    ['A B', false],
    ['É', false],
    ['', false],
  ])('env name %j → %s', (name, ok) => {
    expect(ENV_NAME.test(name)).toBe(ok);
  });

  it.each([
    ['cpu', true],
    ['memory', true],
    ['ephemeral-storage', true],
    ['hugepages-2Mi', true],
    ['nvidia.com/gpu', true],
    ['example.com/My_Res.1', true],
    ['CPU', false],
    ['my gpu', false],
    ['gpu', false],
    ['example.com/', false],
    ['/gpu', false],
    ['a/b/c', false],
    [`example.com/${'x'.repeat(64)}`, false],
  ])('resource name %j → %s', (name, ok) => {
    expect(RESOURCE_NAME.test(name)).toBe(ok);
  });

  it.each([
    ['Churn', true],
    ['Health Predict.v2', true],
    ['\u00a0Churn', false],
    ['Churn\u000b', false],
    ['Churn\u3000', false],
    ['\tChurn', false],
    ['a/b', false],
  ])('model name %j → %s', (name, ok) => {
    expect(MODEL_NAME.test(name)).toBe(ok);
  });

  it.each([
    ['busybox:1.36', true],
    ['busybox:1.36 ', false],
    [' busybox', false],
    ['busy\u00a0box', false],
    ['', false],
  ])('image %j → %s', (image, ok) => {
    expect(IMAGE.test(image)).toBe(ok);
  });

  it('the CRD uses no regex shorthand that JavaScript and RE2 read differently', () => {
    const text = JSON.stringify(renderCrd());
    // In the JSON text a regex backslash is doubled: \\s is the regex \s.
    expect(text.match(/\\\\[sSwWdDbB]/g) ?? []).toEqual([]);
  });
});

describe('nameIssue', () => {
  it.each([
    [1, false],
    [63, false],
    [64, true],
    [253, true],
  ])('a name of %i characters → refused: %s', (length, refused) => {
    expect(nameIssue('n'.repeat(length)) !== undefined).toBe(refused);
  });
});
