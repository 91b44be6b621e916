// The generated CRD installed under names of its own, for tests that check what the apiserver
// accepts: the bed is shared, and another test run applying its own copy of the real CRD
// meanwhile must not change the answers. The same schema and CEL rules; only the names differ,
// group, kind and plural alike, so `kubectl get modeldeployment` elsewhere never resolves to it.
import { renderCrd } from '../../src/api/v1alpha1/crd.js';
import { VERSION } from '../../src/api/v1alpha1/modelDeployment.js';
import { kubectl, kubectlOk } from './kubectl.js';
import { waitFor } from './wait.js';

export interface PrivateCrd {
  group: string;
  plural: string;
  apiVersion: string;
  /** A ModelDeployment manifest of this group, as JSON. */
  manifest(namespace: string, name: string, spec: Record<string, unknown>): string;
  remove(): Promise<void>;
}

export async function installPrivateCrd(prefix: string): Promise<PrivateCrd> {
  const id = `${prefix}${Date.now().toString(36)}`;
  const group = `${id}.test.healthpredict.io`;
  const kind = `MdCopy${id}`;
  const plural = `${kind.toLowerCase()}s`;
  const crd = renderCrd() as { metadata: object; spec: { group: string; names: Record<string, unknown> } };
  crd.metadata = { name: `${plural}.${group}` };
  crd.spec.group = group;
  crd.spec.names = { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() };
  const remove = async () => {
    await kubectl(['delete', 'crd', `${plural}.${group}`, '--wait=false']);
  };
  // Through kubectl: client-node's typed serializer would drop the x-kubernetes-* keys.
  await kubectlOk(['apply', '-f', '-'], JSON.stringify(crd));
  try {
    await waitFor(
      `CRD ${plural}.${group} established`,
      async () =>
        (await kubectlOk([
          'get',
          'crd',
          `${plural}.${group}`,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Established")].status}',
        ])) === 'True',
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (err) {
    await remove();
    throw err;
  }
  const apiVersion = `${group}/${VERSION}`;
  return {
    group,
    plural,
    apiVersion,
    manifest: (namespace, name, spec) =>
      JSON.stringify({ apiVersion, kind, metadata: { name, namespace }, spec }),
    remove,
  };
}
