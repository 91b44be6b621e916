// RFC 6902 JSON patch for the ops the operator sends, applied the way the apiserver does.
import { isDeepStrictEqual } from 'node:util';
import { apiError } from './reconcilerFakes.js';

export type JsonPatchOp = { op: 'test' | 'replace' | 'add' | 'remove'; path: string; value?: unknown };

/** All or nothing: a failed `test` or a missing path is a 422 and leaves `doc` as it was. */
export function applyJsonPatch<T>(doc: T, ops: JsonPatchOp[]): T {
  const out = structuredClone(doc) as Record<string, unknown>;
  for (const { op, path, value } of ops) {
    const keys = path
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop() as string;
    let parent: Record<string, unknown> = out;
    for (const k of keys) {
      parent = parent[k] as Record<string, unknown>;
      if (parent === undefined) throw apiError(422, `path ${path} does not exist`);
    }
    if (op === 'test' && !isDeepStrictEqual(parent[last], value))
      throw apiError(422, `test of ${path} failed`);
    if ((op === 'replace' || op === 'remove') && !(last in parent))
      throw apiError(422, `${op} of missing ${path}`);
    if (Array.isArray(parent) && op === 'add' && last === '-') parent.push(structuredClone(value));
    else if (Array.isArray(parent) && op === 'remove') parent.splice(Number(last), 1);
    else if (op === 'remove') delete parent[last];
    else if (op !== 'test') parent[last] = structuredClone(value);
  }
  return out as T;
}
