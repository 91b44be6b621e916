// Which ModelDeployments a verified MLflow webhook event concerns: those that follow its model on
// the server the webhook came from. Pure; the operator wakes them, and their next poll asks
// MLflow afresh (the event says that something changed, polling says what).
import type { ModelDeployment } from '../api/v1alpha1/modelDeployment.js';
import { keyOf, type ObjectKey } from '../runtime/informer.js';

/** A tracking URI as a comparable server: scheme, host, port and path, without a trailing slash
 * or credentials. Undefined when it is no URL. */
export function sameServer(trackingUri: string): string | undefined {
  try {
    const url = new URL(trackingUri);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

export function followersOf(
  server: string,
  model: string,
  modelDeployments: readonly ModelDeployment[],
): ObjectKey[] {
  const wanted = sameServer(server);
  if (wanted === undefined) return [];
  return modelDeployments
    .filter(
      (md) => md.spec?.model?.name === model && sameServer(md.spec?.registry?.trackingUri ?? '') === wanted,
    )
    .map(keyOf);
}
