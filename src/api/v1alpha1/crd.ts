// Renders the CustomResourceDefinition from the zod schemas, so the two cannot drift.
import { z } from 'zod';
import { ConditionType } from './conditions.js';
import {
  API_VERSION,
  GROUP,
  KIND,
  ModelDeploymentSpecSchema,
  nameRule,
  ModelDeploymentStatusSchema,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from './modelDeployment.js';

type JsonSchema = { [key: string]: unknown };

// zod emits JSON Schema; a CRD wants the structural OpenAPI v3 subset. Drop what the apiserver
// refuses or what only states a JavaScript limit.
function toStructural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toStructural);
  if (node === null || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node as JsonSchema)) {
    if (key === '$schema' || (key === 'additionalProperties' && value === false)) continue;
    if ((key === 'maximum' || key === 'minimum') && Math.abs(value as number) === Number.MAX_SAFE_INTEGER)
      continue;
    out[key] = toStructural(value);
  }
  return out;
}

function schemaOf(schema: z.ZodType): JsonSchema {
  return toStructural(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' })) as JsonSchema;
}

const printerColumns = [
  { name: 'Model', type: 'string', jsonPath: '.spec.model.name' },
  { name: 'Stage', type: 'string', jsonPath: '.spec.model.stage' },
  { name: 'Alias', type: 'string', jsonPath: '.spec.model.alias' },
  { name: 'Version', type: 'string', jsonPath: '.status.model.version' },
  { name: 'Serving', type: 'string', jsonPath: '.status.serving.version' },
  { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  { name: 'Step', type: 'string', jsonPath: '.status.canary.progress' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  {
    name: 'Ready',
    type: 'string',
    jsonPath: `.status.conditions[?(@.type=="${ConditionType.Ready}")].status`,
    priority: 1,
  },
  { name: 'Run ID', type: 'string', jsonPath: '.status.model.runId', priority: 1 },
  {
    name: 'Message',
    type: 'string',
    jsonPath: `.status.conditions[?(@.type=="${ConditionType.Ready}")].message`,
    priority: 1,
  },
];

export function renderCrd(): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: {
        'app.kubernetes.io/name': 'mlflow-model-operator',
        'app.kubernetes.io/part-of': 'mlflow-model-operator',
      },
    },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: SHORT_NAMES,
        categories: ['mlops'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `ModelDeployment (${API_VERSION}) deploys the version of an MLflow registered model that a stage or alias points at, and reports every step in its status.`,
              required: ['spec'],
              'x-kubernetes-validations': [nameRule],
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of this object.' },
                kind: { type: 'string', description: 'Kind of this object.' },
                metadata: { type: 'object' },
                spec: schemaOf(ModelDeploymentSpecSchema),
                status: schemaOf(ModelDeploymentStatusSchema),
              },
            },
          },
        },
      ],
    },
  };
}
