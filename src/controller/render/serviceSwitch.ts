// The blue-green switch of the user's Service: its selector pointed at the tested preview Pods,
// and back. Each way is one JSON patch guarded by `test` ops, and the selector to return to is
// kept on the Service itself (an annotation written in the same patch): a restarted operator,
// or the finalizer of a deleted ModelDeployment, reads it back from there. Pure.
import type { V1Service } from '@kubernetes/client-node';
import { GROUP } from '../../api/v1alpha1/modelDeployment.js';

export const SWITCH_ANNOTATION = `${GROUP}/switched-from`;

/** What the switch annotation records: who switched the Service, and its selector before. */
export interface Switched {
  modelDeployment: string;
  selector: Record<string, string>;
}

/** The switch recorded on `service`, if any (one that cannot be read is none of ours). */
export function switchedFrom(service: V1Service): Switched | undefined {
  const raw = service.metadata?.annotations?.[SWITCH_ANNOTATION];
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<Switched>;
    if (typeof parsed.modelDeployment !== 'string' || typeof parsed.selector !== 'object' || !parsed.selector)
      return undefined;
    return { modelDeployment: parsed.modelDeployment, selector: parsed.selector };
  } catch {
    return undefined;
  }
}

const annotationPath = `/metadata/annotations/${SWITCH_ANNOTATION.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** Points the Service at `preview`; the patch fails if the selector changed since it was read. */
export function switchToPreviewOps(
  service: V1Service,
  md: string,
  preview: Record<string, string>,
): object[] {
  const selector = service.spec?.selector ?? {};
  const record = JSON.stringify({ modelDeployment: md, selector } satisfies Switched);
  return [
    { op: 'test', path: '/spec/selector', value: selector },
    { op: 'replace', path: '/spec/selector', value: preview },
    service.metadata?.annotations
      ? { op: 'add', path: annotationPath, value: record }
      : { op: 'add', path: '/metadata/annotations', value: { [SWITCH_ANNOTATION]: record } },
  ];
}

/** Puts the recorded selector back and drops the record, guarded by the record itself. */
export function switchBackOps(service: V1Service, switched: Switched): object[] {
  return [
    { op: 'test', path: annotationPath, value: service.metadata?.annotations?.[SWITCH_ANNOTATION] },
    { op: 'replace', path: '/spec/selector', value: switched.selector },
    { op: 'remove', path: annotationPath },
  ];
}
