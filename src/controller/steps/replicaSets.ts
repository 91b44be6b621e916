// The ReplicaSets of a Deployment, found by its selector: the rollout, its crash-loop check and
// the blue-green switch-back read them.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import type { ReconcileContext } from '../context.js';

export const selectorOf = (deployment: V1Deployment): string[] =>
  Object.entries(deployment.spec?.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);

export async function replicaSetsOf(
  ctx: ReconcileContext,
  deployment: V1Deployment,
): Promise<V1ReplicaSet[]> {
  const list = await ctx.deps.pipeline.apps.listNamespacedReplicaSet({
    namespace: ctx.md.metadata.namespace,
    labelSelector: selectorOf(deployment).join(','),
  });
  return list.items;
}
