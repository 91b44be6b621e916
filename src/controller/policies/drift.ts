// Has the serving container drifted from what the last run left? Pure; table-tested. Only what
// the operator sets counts: the container's image and the env variables it manages; everything
// else in the Deployment (replicas, labels, other containers, other env) belongs to others.
import type { V1Deployment } from '@kubernetes/client-node';
import { containerPatch, type DesiredContainer } from '../render/containerPatch.js';

export type DriftVerdict =
  | { kind: 'missingContainer'; containers: string[] }
  | { kind: 'none' }
  | {
      kind: 'drift';
      liveImage: string | undefined;
      expectedImage: string;
      /** Operator-managed env variables whose live value differs (or that are missing). */
      envNames: string[];
      /** "live <image> vs expected <image>", and the env names. */
      message: string;
      /** The guarded JSON patch that puts the container back. */
      ops: object[];
    };

export function judgeDrift(deployment: V1Deployment, expected: DesiredContainer): DriftVerdict {
  const change = containerPatch(deployment, expected);
  if (change.kind === 'missingContainer') return change;
  if (change.kind === 'upToDate') return { kind: 'none' };
  const live = deployment.spec?.template?.spec?.containers.find((c) => c.name === expected.container);
  const liveEnv = new Map((live?.env ?? []).map((e) => [e.name, e]));
  const envNames = Object.entries(expected.env)
    .filter(([name, value]) => {
      const e = liveEnv.get(name);
      return e === undefined || e.valueFrom !== undefined || (e.value ?? '') !== value;
    })
    .map(([name]) => name)
    .sort();
  const liveImage = change.previousImage;
  const expectedImage = change.image;
  const message =
    `container "${expected.container}" of Deployment "${deployment.metadata?.name}" drifted: ` +
    `live ${liveImage ?? '(none)'} vs expected ${expectedImage}` +
    (envNames.length ? `; env ${envNames.join(', ')} changed` : '');
  return { kind: 'drift', liveImage, expectedImage, envNames, message, ops: change.ops };
}
