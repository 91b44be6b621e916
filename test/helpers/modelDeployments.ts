// Reads and writes ModelDeployments through kubectl, as a user does.
import type { ModelDeploymentStatus } from '../../src/api/v1alpha1/modelDeployment.js';
import { kubectl, kubectlOk } from './kubectl.js';
import { waitFor } from './wait.js';

export interface MdObject {
  metadata: {
    name: string;
    namespace: string;
    generation: number;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
  spec: Record<string, unknown>;
  status?: ModelDeploymentStatus;
}

export function mdObject(namespace: string, name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'mlops.healthpredict.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name, namespace },
    spec,
  };
}

export function manifest(namespace: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify(mdObject(namespace, name, spec));
}

export async function applyMd(namespace: string, name: string, spec: Record<string, unknown>): Promise<void> {
  await kubectlOk(['apply', '-f', '-'], manifest(namespace, name, spec));
}

export async function getMd(namespace: string, name: string): Promise<MdObject> {
  return JSON.parse(
    await kubectlOk(['-n', namespace, 'get', 'modeldeployment', name, '-o', 'json']),
  ) as MdObject;
}

export function condition(md: MdObject, type: string) {
  return md.status?.conditions?.find((c) => c.type === type);
}

// Predicates for waitForMd.
export const isStalled = (md: MdObject) => condition(md, 'Stalled')?.status === 'True';
/** The run for `version` finished and succeeded. */
export const succeededAt = (version: string) => (md: MdObject) =>
  md.status?.phase === 'Succeeded' && md.status.currentRun?.version === version;

/** Waits until the status satisfies `check`; returns the object. On timeout the error shows
 * the last status seen. */
export async function waitForMd(
  namespace: string,
  name: string,
  what: string,
  check: (md: MdObject) => boolean,
  timeoutMs = 60_000,
): Promise<MdObject> {
  let last: MdObject | undefined;
  try {
    return await waitFor(
      `${namespace}/${name}: ${what}`,
      async () => {
        last = await getMd(namespace, name);
        return check(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 300 },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status, null, 1)}`, {
      cause: err,
    });
  }
}

/** The Jobs the operator made for ModelDeployment `md` with this component label (image-build,
 * model-test), as JSON objects. */
export async function childJobs<J = Record<string, unknown>>(
  namespace: string,
  component: string,
  md: string,
): Promise<J[]> {
  const out = await kubectlOk([
    '-n',
    namespace,
    'get',
    'jobs',
    '-l',
    `app.kubernetes.io/component=${component},app.kubernetes.io/instance=${md}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(out) as { items: J[] }).items;
}

/** `kubectl annotate --overwrite`, as a user approves, retries or asks for a poll. */
export async function annotateMd(namespace: string, name: string, key: string, value: string): Promise<void> {
  await kubectlOk(['-n', namespace, 'annotate', '--overwrite', 'modeldeployment', name, `${key}=${value}`]);
}

export async function requestReconcile(namespace: string, name: string): Promise<void> {
  await annotateMd(namespace, name, 'mlops.healthpredict.io/reconcile-requested-at', String(Date.now()));
}

export async function eventsFor(
  namespace: string,
  name: string,
): Promise<{ type: string; reason: string; message: string; count?: number }[]> {
  const r = await kubectl([
    '-n',
    namespace,
    'get',
    'events',
    '--field-selector',
    `involvedObject.name=${name}`,
    '-o',
    'json',
  ]);
  return (
    JSON.parse(r.stdout || '{"items":[]}') as {
      items: { type: string; reason: string; message: string; count?: number }[];
    }
  ).items;
}
