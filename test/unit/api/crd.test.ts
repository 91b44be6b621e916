import { describe, expect, it } from '@jest/globals';
import { renderCrd } from '../../../src/api/v1alpha1/crd.js';
import { nameRule } from '../../../src/api/v1alpha1/modelDeployment.js';

type Node = Record<string, unknown>;

const crd = renderCrd() as Node;
const version = (crd.spec as { versions: Node[] }).versions[0] as Node;
const root = (version.schema as { openAPIV3Schema: Node }).openAPIV3Schema;
const props = (node: Node) => (node.properties ?? {}) as Record<string, Node>;
const spec = props(root).spec as Node;
const status = props(root).status as Node;

/** Every [path, node] of a structural schema, following properties and items. */
function walk(node: Node, path: string): [string, Node][] {
  const out: [string, Node][] = [[path, node]];
  for (const [name, child] of Object.entries(props(node))) out.push(...walk(child, `${path}.${name}`));
  if (node.items) out.push(...walk(node.items as Node, `${path}[]`));
  return out;
}

/** Every [path, key, value] anywhere in the document. */
function allKeys(value: unknown, path = ''): [string, string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => allKeys(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [
    [path, k, v] as [string, string, unknown],
    ...allKeys(v, `${path}.${k}`),
  ]);
}

describe('renderCrd', () => {
  it('names the resource', () => {
    expect(crd).toMatchObject({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'modeldeployments.mlops.healthpredict.io' },
      spec: {
        group: 'mlops.healthpredict.io',
        scope: 'Namespaced',
        names: { kind: 'ModelDeployment', plural: 'modeldeployments' },
      },
    });
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
  });

  it.each([
    ['Model', '.spec.model.name'],
    ['Stage', '.spec.model.stage'],
    ['Alias', '.spec.model.alias'],
    ['Version', '.status.model.version'],
    ['Serving', '.status.serving.version'],
    ['Phase', '.status.phase'],
    ['Age', '.metadata.creationTimestamp'],
  ])('has the printer column %s (%s)', (name, jsonPath) => {
    const columns = version.additionalPrinterColumns as Node[];
    const column = columns.find((col) => col.name === name);
    expect(column).toMatchObject({ jsonPath });
    expect(column?.priority).toBeUndefined(); // shown by default
  });

  it('refuses names longer than a label value at the root', () => {
    expect(root['x-kubernetes-validations']).toEqual([nameRule]);
    expect(nameRule.rule).toBe('size(self.metadata.name) <= 63');
  });

  it('has the status subresource', () => {
    expect(version.subresources).toEqual({ status: {} });
  });

  it.each([
    ['spec', spec],
    ['status', status],
  ])('gives every %s property a description', (name, schema) => {
    const nodes = walk(schema, name);
    expect(nodes.length).toBeGreaterThan(5);
    const undocumented = nodes.filter(
      ([, node]) => typeof node.description !== 'string' || node.description === '',
    );
    expect(undocumented.map(([path]) => path)).toEqual([]);
  });

  it('contains no $schema and no additionalProperties: false anywhere', () => {
    const offending = allKeys(crd).filter(
      ([, key, value]) => key === '$schema' || (key === 'additionalProperties' && value === false),
    );
    expect(offending).toEqual([]);
  });

  it('contains no JavaScript safe-integer bounds', () => {
    const bounds = allKeys(crd).filter(
      ([, key, value]) =>
        (key === 'minimum' || key === 'maximum') && Math.abs(value as number) === Number.MAX_SAFE_INTEGER,
    );
    expect(bounds).toEqual([]);
  });

  it('carries the CEL rules on spec.model', () => {
    const rules = props(spec).model?.['x-kubernetes-validations'] as { rule: string; message: string }[];
    expect(rules.map((r) => r.message)).toEqual([
      'exactly one of spec.model.stage or spec.model.alias must be set',
      expect.stringContaining("must not be 'latest'"),
      'spec.model.pollInterval must be at least 10s and at most 2562047h',
    ]);
    for (const r of rules) expect(r.rule).toEqual(expect.any(String));
  });

  it('requires spec, model and registry and declares the defaults', () => {
    expect(root.required).toEqual(['spec']);
    expect(spec.required).toEqual(['model', 'registry']);
    expect(props(spec).model?.required).toEqual(['name']);
    expect(props(props(spec).model as Node).pollInterval?.default).toBe('60s');
    expect(props(props(spec).registry as Node).timeoutSeconds?.default).toBe(10);
    expect(props(spec).suspend?.default).toBe(false);
  });

  it('declares status.conditions as a map list keyed by type', () => {
    expect(props(status).conditions).toMatchObject({
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    });
  });
});
