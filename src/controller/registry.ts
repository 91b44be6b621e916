// Builds the MLflow client for one ModelDeployment, with credentials read from its Secret.
import type { CoreV1Api } from '@kubernetes/client-node';
import { Reason } from '../api/v1alpha1/conditions.js';
import type { ModelDeployment } from '../api/v1alpha1/modelDeployment.js';
import {
  MlflowClient,
  type MlflowAuth,
  type MlflowClientOptions,
  type MlflowErrorKind,
} from '../clients/mlflow.js';
import { CredentialsError, credentialsFromSecretData } from '../clients/mlflowCredentials.js';
import { Stalling } from '../runtime/errors.js';
import { isForbidden, isNotFound, kubeMessageOf } from '../runtime/kubeErrors.js';
import type { ModelRegistry } from './context.js';

/** The catalogue reason of each way an MLflow request fails, for the resolve step and the
 * write-back alike. */
export const MLFLOW_ERROR_REASON: Readonly<Record<MlflowErrorKind, Reason>> = {
  Unreachable: Reason.RegistryUnavailable,
  ServerError: Reason.RegistryUnavailable,
  Unauthorized: Reason.RegistryUnauthorized,
  ModelNotFound: Reason.ModelNotFound,
  AliasNotFound: Reason.AliasNotFound,
  NoVersionInStage: Reason.NoVersionInStage,
  VersionNotReady: Reason.VersionNotReady,
  NotFound: Reason.RegistryRequestRefused,
  BadRequest: Reason.RegistryRequestRefused,
  InvalidResponse: Reason.RegistryInvalidResponse,
};

export function makeRegistryFactory(
  core: CoreV1Api,
  observe?: MlflowClientOptions['observe'],
): (md: ModelDeployment) => Promise<ModelRegistry> {
  return async (md) => {
    const { registry } = md.spec;
    const auth = registry.credentialsSecretRef
      ? await readAuth(core, md.metadata.namespace, registry.credentialsSecretRef.name)
      : undefined;
    return new MlflowClient({
      trackingUri: registry.trackingUri,
      timeoutMs: (registry.timeoutSeconds ?? 10) * 1000,
      ...(auth ? { auth } : {}),
      ...(observe ? { observe } : {}),
    });
  };
}

async function readAuth(core: CoreV1Api, namespace: string, name: string): Promise<MlflowAuth> {
  try {
    const secret = await core.readNamespacedSecret({ namespace, name });
    return credentialsFromSecretData(name, secret.data);
  } catch (err) {
    if (err instanceof CredentialsError) throw new Stalling(Reason.InvalidCredentialsSecret, err.message);
    if (isNotFound(err)) {
      throw new Stalling(
        Reason.CredentialsSecretNotFound,
        `Secret "${name}" named in spec.registry.credentialsSecretRef does not exist in namespace "${namespace}"`,
      );
    }
    if (isForbidden(err)) {
      throw new Stalling(
        Reason.CredentialsSecretForbidden,
        `cannot read Secret "${name}": ${kubeMessageOf(err)}`,
      );
    }
    throw err;
  }
}
