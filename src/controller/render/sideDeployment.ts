// The Deployments a progressive strategy runs beside the serving one, each with a Service shaped
// like the one users reach: the blue-green preview, whose Pods carry only the operator's labels
// (no Service of the user selects them until promotion switches one on purpose), and the canary,
// whose Pods carry the serving Pods' labels too (the user's Service sends them their share of
// requests). Both run the serving Deployment's Pod template with the new image and model env. Pure.
import type { V1Deployment, V1PodTemplateSpec, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { ModelDeployment } from '../../api/v1alpha1/modelDeployment.js';
import {
  childLabels,
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  sideName,
  shortHash,
  type Named,
} from '../../children/names.js';
import { ownerReference } from '../../children/ownerRef.js';
import { mergeEnv } from './containerPatch.js';

export type SideRole = 'preview' | 'canary';
/** The hash of what a side Deployment (or its Service) was rendered from: one whose hash differs
 * is replaced. */
export const SIDE_HASH_ANNOTATION = 'mlops.healthpredict.io/rendered-hash';
/** The label that selects an object's canary Pods: a key of ours, so it never clashes with the
 * serving Pods' own labels, which the canary Pods keep. */
export const CANARY_OF_LABEL = 'mlops.healthpredict.io/canary-of';

export interface SideInput {
  role: SideRole;
  md: ModelDeployment;
  /** The serving Deployment, whose Pod template it runs. */
  serving: V1Deployment;
  container: string;
  /** Undefined keeps the serving container's image (builder none). */
  image: string | undefined;
  env: Record<string, string>;
  version: string;
  replicas: number;
  /** The Service users reach (spec.strategy.blueGreen.activeService, else the one named like the
   * serving Deployment), whose ports the side Service copies; undefined for none. */
  userService: V1Service | undefined;
}

export interface SideDeployment {
  deployment: Named<V1Deployment>;
  service: Named<V1Service>;
  /** The labels that select its Pods (its Service's selector). */
  selector: Record<string, string>;
}

/** The labels that select an object's preview or canary Pods: fixed per object and role, so the
 * selector of the Deployment (immutable) never changes between versions. */
export function sideSelector(role: SideRole, md: string): Record<string, string> {
  if (role === 'canary') return { [CANARY_OF_LABEL]: md };
  return { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_INSTANCE]: md, [LABEL_COMPONENT]: role };
}

export function renderSideDeployment(input: SideInput): SideDeployment {
  const { md, serving, version, role } = input;
  const name = sideName(md.metadata.name, role);
  const namespace = md.metadata.namespace;
  const selector = sideSelector(role, md.metadata.name);
  const labels = childLabels(md.metadata.name, role, version);
  const podLabels =
    role === 'canary' ? { ...serving.spec?.template?.metadata?.labels, ...labels, ...selector } : labels;
  const template = sideTemplate(input, podLabels);
  const spec: V1Deployment['spec'] = {
    replicas: input.replicas,
    selector: { matchLabels: selector },
    template,
    ...(serving.spec?.minReadySeconds !== undefined ? { minReadySeconds: serving.spec.minReadySeconds } : {}),
    ...(serving.spec?.progressDeadlineSeconds !== undefined
      ? { progressDeadlineSeconds: serving.spec.progressDeadlineSeconds }
      : {}),
  };
  const metadata = (annotations: Record<string, string> = {}) => ({
    name,
    namespace,
    labels,
    annotations,
    ownerReferences: [ownerReference(md)],
  });
  const deployment: Named<V1Deployment> = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata({ [SIDE_HASH_ANNOTATION]: shortHash(spec, 16) }),
    spec,
  };
  const serviceSpec: V1Service['spec'] = { selector, ports: servicePorts(input) };
  const service: Named<V1Service> = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata({ [SIDE_HASH_ANNOTATION]: shortHash(serviceSpec, 16) }),
    spec: serviceSpec,
  };
  return { deployment, service, selector };
}

function sideTemplate(input: SideInput, labels: Record<string, string>): V1PodTemplateSpec {
  const template = structuredClone(input.serving.spec?.template ?? {}) as V1PodTemplateSpec;
  template.metadata = { ...template.metadata, labels };
  const containers = template.spec?.containers ?? [];
  for (const c of containers) {
    if (c.name !== input.container) continue;
    if (input.image !== undefined) c.image = input.image;
    c.env = mergeEnv(c.env ?? [], input.env);
  }
  return template;
}

/** The user's Service's ports, so the tests reach the preview as users reach the serving Pods;
 * without such a Service, the serving container's ports as they are; none when neither has any
 * (the step stalls and says what to add). */
function servicePorts({ userService, serving, container }: SideInput): V1ServicePort[] {
  const ports = userService?.spec?.ports;
  if (ports?.length) {
    return ports.map((p) => ({
      port: p.port,
      ...(p.name !== undefined ? { name: p.name } : {}),
      ...(p.protocol !== undefined ? { protocol: p.protocol } : {}),
      ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
      ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
    }));
  }
  const own = serving.spec?.template?.spec?.containers?.find((c) => c.name === container)?.ports ?? [];
  return own.map((p) => ({
    port: p.containerPort,
    targetPort: p.containerPort,
    ...(p.name !== undefined ? { name: p.name } : {}),
    ...(p.protocol !== undefined ? { protocol: p.protocol } : {}),
  }));
}
