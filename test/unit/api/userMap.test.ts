import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ModelDeploymentSpecStrictSchema } from '../../../src/api/v1alpha1/modelDeployment.js';
import { userMap, userMapOf } from '../../../src/api/v1alpha1/userMap.js';
import { pipelineSpec } from '../helpers/pipelineFixtures.js';

const PROTO_KEYS = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];
const schema = userMap(/^[A-Za-z_][A-Za-z0-9_]*$/, 32);
/** As the apiserver's JSON reaches us: JSON.parse makes `__proto__` an own key. */
const fromJson = (o: Record<string, string>) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
const allNames = () => JSON.parse(`{${PROTO_KEYS.map((k) => `"${k}":"v-${k}"`).join(',')}}`) as object;

describe('userMap: parse', () => {
  it.each(PROTO_KEYS)('keeps %s as an own key with its value', (key) => {
    const parsed = schema.parse(JSON.parse(`{"${key}":"v","A":"b"}`));
    expect(Object.hasOwn(parsed, key)).toBe(true);
    expect(Object.getOwnPropertyDescriptor(parsed, key)?.value).toBe('v');
    expect(Object.keys(parsed)).toEqual([key, 'A']);
  });

  it('returns an object without a prototype: absent names are absent', () => {
    const parsed = schema.parse(fromJson({ A: 'b' }));
    expect(Object.getPrototypeOf(parsed)).toBeNull();
    for (const key of PROTO_KEYS.filter((k) => k !== '__proto__')) {
      expect(key in parsed).toBe(false);
      expect(parsed[key]).toBeUndefined();
    }
  });

  it('keeps all five names at once', () => {
    expect(Object.entries(schema.parse(allNames()))).toEqual(PROTO_KEYS.map((k) => [k, `v-${k}`]));
  });

  it.each<{ name: string; input: unknown; path: PropertyKey[] }>([
    { name: 'a key that fails the pattern', input: { 'not ok': 'x' }, path: ['not ok'] },
    { name: 'a value too long', input: { A: 'x'.repeat(33) }, path: ['A'] },
    { name: 'a value that is not a string', input: { A: 1 }, path: ['A'] },
    {
      name: '__proto__ with a value that is not a string',
      input: JSON.parse('{"__proto__":{}}'),
      path: ['__proto__'],
    },
    { name: 'an array', input: ['x'], path: [] },
    { name: 'a string', input: 'x', path: [] },
    { name: 'null', input: null, path: [] },
  ])('refuses $name, at its path', ({ input, path }) => {
    const r = schema.safeParse(input);
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(path);
  });

  it('the spec schema keeps the names in deployment.env, test.env and build.buildArgs', () => {
    const spec = ModelDeploymentSpecStrictSchema.parse(
      pipelineSpec({
        build: { builder: 'kaniko', context: 'git://x/y', buildArgs: allNames() },
        deployment: { name: 'churn-api', container: 'api', env: allNames() },
        test: { image: 'acme/t:1', env: allNames() },
      }),
    );
    for (const map of [spec.build?.buildArgs, spec.deployment?.env, spec.test?.env])
      expect(Object.keys(map ?? {})).toEqual(PROTO_KEYS);
  });
});

describe('userMap: JSON Schema', () => {
  it('is a record of strings, as the CRD needs', () => {
    expect(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' })).toMatchObject({
      type: 'object',
      additionalProperties: { type: 'string', maxLength: 32 },
    });
  });
});

describe('userMapOf', () => {
  it('sets __proto__ as a key, not as the prototype', () => {
    const map = userMapOf([['__proto__', 'x']]);
    expect(Object.getPrototypeOf(map)).toBeNull();
    expect(Object.keys(map)).toEqual(['__proto__']);
    expect(JSON.stringify(map)).toBe('{"__proto__":"x"}');
  });
});
