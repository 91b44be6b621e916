import type { V1OwnerReference } from '@kubernetes/client-node';
import { API_VERSION, KIND, type ModelDeployment } from '../api/v1alpha1/modelDeployment.js';

/** Children are owned by their ModelDeployment: deleted with it, and traced back to it. */
export function ownerReference(md: ModelDeployment): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: md.metadata.name,
    uid: md.metadata.uid as string,
    controller: true,
    blockOwnerDeletion: true,
  };
}
