// The image a Deployment's container had before its current rollout, read from its ReplicaSets:
// for a rollout whose record a crash lost between the patch and the status write. Pure.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

const revisionOf = (o: { metadata?: { annotations?: Record<string, string> } }): number =>
  Number(o.metadata?.annotations?.[REVISION_ANNOTATION] ?? NaN);

/** The `container` image of the Deployment's ReplicaSet with the highest revision below the
 * current one. Undefined unless the current ReplicaSet already runs `image` (the Deployment
 * controller may not have caught up with the patch) or when nothing came before it. */
export function previousImageOf(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
  container: string,
  image: string | undefined,
): string | undefined {
  const uid = deployment.metadata?.uid;
  const imageIn = (rs: V1ReplicaSet) =>
    rs.spec?.template?.spec?.containers.find((c) => c.name === container)?.image;
  const owned = replicaSets.filter(
    (rs) => Number.isFinite(revisionOf(rs)) && rs.metadata?.ownerReferences?.some((o) => o.uid === uid),
  );
  const current = owned.find((rs) => revisionOf(rs) === revisionOf(deployment));
  if (!current || (image !== undefined && imageIn(current) !== image)) return undefined;
  const before = owned
    .filter((rs) => revisionOf(rs) < revisionOf(deployment))
    .sort((a, b) => revisionOf(b) - revisionOf(a))[0];
  return before ? imageIn(before) : undefined;
}
