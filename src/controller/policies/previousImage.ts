// A Deployment's ReplicaSets by revision: the current one (whose Pods a rollout waits for) and
// the image before the current rollout, for a rollout whose record a crash lost between the
// patch and the status write. Pure.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** The label the Deployment controller puts on a ReplicaSet and its Pods. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

const revisionOf = (o: { metadata?: { annotations?: Record<string, string> } }): number =>
  Number(o.metadata?.annotations?.[REVISION_ANNOTATION] ?? NaN);

const ownedBy = (deployment: V1Deployment, replicaSets: readonly V1ReplicaSet[]) =>
  replicaSets.filter(
    (rs) =>
      Number.isFinite(revisionOf(rs)) &&
      rs.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid),
  );

/** The Deployment's ReplicaSet of its current revision, once the controller has made it. */
export function currentReplicaSet(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
): V1ReplicaSet | undefined {
  return ownedBy(deployment, replicaSets).find((rs) => revisionOf(rs) === revisionOf(deployment));
}

/** The `container` image of the Deployment's ReplicaSet with the highest revision below the
 * current one. Undefined unless the current ReplicaSet already runs `image` (the Deployment
 * controller may not have caught up with the patch) or when nothing came before it. */
export function previousImageOf(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
  container: string,
  image: string | undefined,
): string | undefined {
  const imageIn = (rs: V1ReplicaSet) =>
    rs.spec?.template?.spec?.containers.find((c) => c.name === container)?.image;
  const current = currentReplicaSet(deployment, replicaSets);
  if (!current || (image !== undefined && imageIn(current) !== image)) return undefined;
  const before = ownedBy(deployment, replicaSets)
    .filter((rs) => revisionOf(rs) < revisionOf(deployment))
    .sort((a, b) => revisionOf(b) - revisionOf(a))[0];
  return before ? imageIn(before) : undefined;
}
