// Writes a custom resource's status subresource only when it changed, as a JSON merge patch
// of the changed top-level fields (null removes one). metadata.resourceVersion makes the write
// optimistic: a stale view gets 409 Conflict and the caller requeues instead of overwriting.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

type Status = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Status => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The RFC 7386 merge patch turning `current` into `desired` (objects recurse, null removes,
 * arrays are replaced whole), or undefined when they are equal. */
export function statusMergePatch(current: Status | undefined, desired: Status): Status | undefined {
  const patch: Status = {};
  const old = current ?? {};
  for (const key of new Set([...Object.keys(old), ...Object.keys(desired)])) {
    const [was, next] = [old[key], desired[key]];
    if (next === undefined) {
      if (was !== undefined) patch[key] = null;
    } else if (isPlainObject(was) && isPlainObject(next)) {
      const nested = statusMergePatch(was, next);
      if (nested) patch[key] = nested;
    } else if (!isDeepStrictEqual(was, next)) {
      patch[key] = next;
    }
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

export class StatusPatcher {
  constructor(
    private readonly api: CustomObjectsApi,
    private readonly fieldManager: string,
  ) {}

  /** Returns the written object's resourceVersion when a write was made, else false. */
  async patch(
    ref: ResourceRef,
    resourceVersion: string | undefined,
    current: Status | undefined,
    desired: Status,
  ): Promise<string | false> {
    const status = statusMergePatch(current, JSON.parse(JSON.stringify(desired)) as Status);
    if (!status) return false;
    const written = await this.api.patchNamespacedCustomObjectStatus(
      {
        ...ref,
        body: { metadata: resourceVersion ? { resourceVersion } : {}, status },
        fieldManager: this.fieldManager,
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    return (written as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion ?? '';
  }
}
