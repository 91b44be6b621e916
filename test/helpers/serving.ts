// The user's serving Deployment, which the operator rolls; kwok makes its Pods Ready.
import { kubectlOk } from './kubectl.js';

export interface ServingOptions {
  replicas?: number;
  progressDeadlineSeconds?: number;
  image?: string;
  /** Pods so big that a surge Pod cannot fit on the bed's node: a rollout cannot progress until
   * a second node is added (see addNode). */
  blockRollout?: boolean;
}

// The bed's node offers 32 CPUs: two 12-CPU Pods fit, a third (the rollout's surge Pod) does not.
const BIG_POD = { requests: { cpu: '12' } };

/** The serving Deployment as the tests write it: a sidecar and the `api` container. */
export function servingDeploymentManifest(
  namespace: string,
  name: string,
  o: ServingOptions & {
    /** Labels on the Deployment besides `app`. */
    extraLabels?: Record<string, string>;
    /** The api container's fields besides its name (replaces image, env and resources). */
    api?: Record<string, unknown>;
  } = {},
) {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { ...labels, ...o.extraLabels } },
    spec: {
      replicas: o.replicas ?? 2,
      progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
      ...(o.blockRollout
        ? { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }
        : {}),
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [
            { name: 'sidecar', image: 'registry.example/sidecar:1' },
            {
              name: 'api',
              ...(o.api ?? {
                image: o.image ?? 'registry.example/api:bootstrap',
                env: [{ name: 'KEEP_ME', value: 'yes' }],
                ...(o.blockRollout ? { resources: BIG_POD } : {}),
              }),
            },
          ],
        },
      },
    },
  };
}

export async function createServingDeployment(
  namespace: string,
  name: string,
  o: ServingOptions = {},
): Promise<void> {
  await kubectlOk(['apply', '-f', '-'], JSON.stringify(servingDeploymentManifest(namespace, name, o)));
  await kubectlOk(['-n', namespace, 'rollout', 'status', `deployment/${name}`, '--timeout=60s']);
}

export async function getDeployment(namespace: string, name: string) {
  return JSON.parse(await kubectlOk(['-n', namespace, 'get', 'deployment', name, '-o', 'json'])) as {
    metadata: { generation: number; annotations?: Record<string, string> };
    spec: {
      template: {
        spec: { containers: { name: string; image: string; env?: { name: string; value?: string }[] }[] };
      };
    };
  };
}

/** Adds a kwok node (kwok manages every node), giving room to Pods that were waiting. */
export async function addNode(name: string): Promise<void> {
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  await kubectlOk(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { type: 'kwok', 'kubernetes.io/hostname': name } },
      status: { allocatable: resources, capacity: resources },
    }),
  );
}

export async function deleteNode(name: string): Promise<void> {
  await kubectlOk(['delete', 'node', name, '--ignore-not-found']);
}
