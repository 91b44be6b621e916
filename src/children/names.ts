// Deterministic names and labels of everything the operator creates: creating a child that
// already exists (409) means "observe it", which is what makes reconciles idempotent.
import { createHash } from 'node:crypto';

export const MANAGED_BY = 'mlflow-model-operator';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MODEL_VERSION = 'mlops.healthpredict.io/model-version';

export function shortHash(value: unknown, length = 8): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, length);
}

/** JSON with sorted keys, so equal objects hash equally whatever their key order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// Kubernetes names: at most 63 characters for Job names (they become Pod labels).
function fit(prefix: string, suffix: string, max = 63): string {
  const room = max - suffix.length - 1;
  return `${prefix.slice(0, room).replace(/[-.]+$/, '')}-${suffix}`;
}

export const buildJobName = (md: string, version: string, buildHash: string) =>
  fit(md, `build-v${version}-${buildHash}`);

export const testJobName = (md: string, version: string, digestOrImage: string) =>
  fit(md, `test-v${version}-${shortHash(digestOrImage, 12)}`);

/** The blue-green preview (or canary) Deployment and Service of an object. A Service name is a DNS
 * label starting with a letter: an object name with dots or a leading digit is mended, and a hash
 * of the real name keeps two mended names apart. */
export function sideName(md: string, role: 'preview' | 'canary'): string {
  const label = md.replace(/\./g, '-');
  if (label === md && /^[a-z]/.test(md)) return fit(md, role);
  return fit(/^[a-z]/.test(label) ? label : `md-${label}`, `${shortHash(md, 6)}-${role}`);
}

export function childLabels(md: string, component: string, version: string): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_INSTANCE]: md,
    [LABEL_COMPONENT]: component,
    [LABEL_MODEL_VERSION]: version,
  };
}

/** A rendered child whose name is set (the renderers always set it). */
export type Named<T extends { metadata?: object }> = T & {
  metadata: NonNullable<T['metadata']> & { name: string };
};

/** The annotation on a serving Deployment naming the ModelDeployment (same namespace) that
 * manages one of its containers: one ModelDeployment per container. */
export const CLAIM_ANNOTATION_PREFIX = 'claim.mlops.healthpredict.io/';
export const claimAnnotation = (container: string) => `${CLAIM_ANNOTATION_PREFIX}${container}`;

/** Held by a ModelDeployment that claimed a container, until the claim is released. */
export const CLAIM_FINALIZER = 'mlops.healthpredict.io/release-claim';

/** A JSON pointer segment (RFC 6901): annotation keys carry `/`. */
export const pointerSegment = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
