import { describe, expect, it } from '@jest/globals';
import {
  followedRef,
  ModelDeploymentSpecSchema,
  ModelDeploymentSpecStrictSchema,
} from '../../../src/api/v1alpha1/modelDeployment.js';
import { specExamples } from '../../fixtures/specExamples.js';

describe('ModelDeploymentSpecStrictSchema agrees with the shared example table', () => {
  it.each(specExamples)('$name → valid=$valid', ({ spec, valid }) => {
    const result = ModelDeploymentSpecStrictSchema.safeParse(spec);
    expect({
      valid: result.success,
      issues: result.error?.issues.map((i) => i.path.join('.')) ?? [],
    }).toMatchObject({ valid });
  });

  it('the table has both valid and invalid examples with unique names', () => {
    const names = specExamples.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    expect(specExamples.some((e) => e.valid)).toBe(true);
    expect(specExamples.some((e) => !e.valid)).toBe(true);
    for (const e of specExamples.filter((x) => !x.valid)) expect(e.apiserverSays).toBeTruthy();
  });

  it('applies the defaults the CRD declares', () => {
    const parsed = ModelDeploymentSpecStrictSchema.parse({
      model: { name: 'm', alias: 'a' },
      registry: { trackingUri: 'http://mlflow:5000' },
    });
    expect(parsed).toEqual({
      model: { name: 'm', alias: 'a', pollInterval: '60s' },
      registry: { trackingUri: 'http://mlflow:5000', timeoutSeconds: 10 },
      historyLimit: 10,
      suspend: false,
    });
  });

  it.each([
    { name: 'both stage and alias', model: { name: 'm', stage: 'Production', alias: 'a' }, path: 'model' },
    { name: 'neither', model: { name: 'm' }, path: 'model' },
    { name: 'reserved alias', model: { name: 'm', alias: 'latest' }, path: 'model.alias' },
    {
      name: 'interval below 10s',
      model: { name: 'm', alias: 'a', pollInterval: '9s' },
      path: 'model.pollInterval',
    },
  ])('the strict refinements point at the field: $name', ({ model, path }) => {
    const loose = ModelDeploymentSpecSchema.safeParse({ model, registry: { trackingUri: 'http://x' } });
    expect(loose.success).toBe(true); // only the CEL twin refuses it
    const strict = ModelDeploymentSpecStrictSchema.safeParse({
      model,
      registry: { trackingUri: 'http://x' },
    });
    expect(strict.error?.issues.map((i) => i.path.join('.'))).toEqual([path]);
  });
});

describe('followedRef', () => {
  it.each([
    { model: { name: 'm', stage: 'Production' as const, pollInterval: '60s' }, ref: 'stage:Production' },
    { model: { name: 'm', stage: 'Staging' as const, pollInterval: '60s' }, ref: 'stage:Staging' },
    { model: { name: 'm', alias: 'champion', pollInterval: '60s' }, ref: 'alias:champion' },
    {
      model: { name: 'm', stage: 'Production' as const, alias: 'champion', pollInterval: '60s' },
      ref: 'alias:champion',
    },
  ])('$ref', ({ model, ref }) => {
    expect(followedRef(model)).toBe(ref);
  });
});
