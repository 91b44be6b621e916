// The change to the serving Deployment: one container's image and model env, nothing else.
// A JSON patch guarded by `test` ops, so a Deployment edited meanwhile fails the patch instead
// of being overwritten at the wrong index.
import type { V1Container, V1Deployment, V1EnvVar } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import type { ResolvedModel } from '../../api/v1alpha1/modelDeployment.js';
import { renderMap } from '../../children/template.js';

export type ContainerPatch =
  | { kind: 'missingContainer'; containers: string[] }
  | { kind: 'upToDate'; image: string }
  | { kind: 'patch'; ops: object[]; image: string; previousImage: string | undefined };

export interface DesiredContainer {
  container: string;
  /** Undefined keeps the image (builder none). */
  image?: string;
  env: Record<string, string>;
  /** Variables to remove (a rollback drops those only the failed run set). */
  unset?: readonly string[];
}

/** The env the operator manages on the serving container: spec.deployment.env rendered, then
 * the model. The rollout sets it and the drift check compares against it. */
export function servingEnv(
  env: Record<string, string> | undefined,
  model: ResolvedModel,
): Record<string, string> {
  // The exact version always wins: every pod of the rollout serves the same model.
  return { ...renderMap(env, model), MODEL_URI: model.uri, MODEL_VERSION: model.version };
}

export function containerPatch(deployment: V1Deployment, desired: DesiredContainer): ContainerPatch {
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const index = containers.findIndex((c) => c.name === desired.container);
  if (index < 0) return { kind: 'missingContainer', containers: containers.map((c) => c.name) };
  const current = containers[index] as V1Container;
  const image = desired.image ?? current.image ?? '';
  const unset = new Set(desired.unset);
  const env = mergeEnv(current.env ?? [], desired.env).filter((e) => !unset.has(e.name));
  if (current.image === image && sameEnv(current.env ?? [], env)) return { kind: 'upToDate', image };
  const path = `/spec/template/spec/containers/${index}`;
  return {
    kind: 'patch',
    image,
    previousImage: current.image,
    ops: [
      { op: 'test', path: `${path}/name`, value: desired.container },
      { op: current.image === undefined ? 'add' : 'replace', path: `${path}/image`, value: image },
      { op: current.env === undefined ? 'add' : 'replace', path: `${path}/env`, value: env },
    ],
  };
}

// Variables we set replace same-named ones in place (value only); the rest keep their order.
// A Map, not `in`/`wanted[name]`: env names such as `constructor` or `__proto__` are the user's
// and must never be looked up on Object.prototype.
export function mergeEnv(current: V1EnvVar[], wanted: Readonly<Record<string, string>>): V1EnvVar[] {
  const want = new Map(Object.entries(wanted));
  const merged = current.map((e) => {
    const value = want.get(e.name);
    return value === undefined ? e : { name: e.name, value };
  });
  const present = new Set(current.map((e) => e.name));
  for (const [name, value] of want) if (!present.has(name)) merged.push({ name, value });
  return merged;
}

// The apiserver drops empty values, so `{name, value: ''}` reads back as `{name}`.
function sameEnv(a: V1EnvVar[], b: V1EnvVar[]): boolean {
  const norm = (env: V1EnvVar[]) =>
    env.map((e) => ({ name: e.name, value: e.value ?? '', valueFrom: e.valueFrom }));
  return isDeepStrictEqual(norm(a), norm(b));
}
