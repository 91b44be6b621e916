// Maps whose keys the user chooses (env names, build args). Such a key can be `constructor`,
// `toString` or `__proto__`: z.record drops `__proto__` and hands back a plain object whose
// prototype answers `in` and `obj[key]` for the others. This schema keeps every own key and
// returns an object without a prototype, so lookups see only what the user wrote.
import { z } from 'zod';

/** A string-to-string map without a prototype: only its own keys exist. */
export type UserMap = Readonly<Record<string, string>>;

/** An empty map without a prototype, to fill. */
export function userMapOf(entries: Iterable<readonly [string, string]> = []): Record<string, string> {
  const map = Object.create(null) as Record<string, string>;
  // defineProperty: a plain assignment of `__proto__` would set a prototype, not a key.
  for (const [k, v] of entries) Object.defineProperty(map, k, { value: v, enumerable: true, writable: true });
  return map;
}

/**
 * Schema of a user-keyed map: keys match `key`, values are strings of at most `maxValue`
 * characters. Its JSON Schema is that of a record (`type: object`, `additionalProperties`),
 * so the CRD is unchanged; the parse is done here because z.record loses `__proto__`.
 */
export function userMap(key: RegExp, maxValue: number) {
  const keySchema = z.string().regex(key);
  const valueSchema = z.string().max(maxValue);
  return z
    .unknown()
    .transform((input, ctx) => {
      if (input === null || typeof input !== 'object' || Array.isArray(input)) {
        ctx.addIssue({
          code: 'invalid_type',
          expected: 'record',
          input,
          message: 'expected a map of strings',
        });
        return z.NEVER;
      }
      const entries: [string, string][] = [];
      // Object.keys lists an own `__proto__` as JSON.parse creates it.
      for (const k of Object.keys(input)) {
        const value: unknown = Object.getOwnPropertyDescriptor(input, k)?.value;
        const keyCheck = keySchema.safeParse(k);
        if (!keyCheck.success) {
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: `invalid key: ${keyCheck.error.issues[0]?.message}`,
          });
          continue;
        }
        const valueCheck = valueSchema.safeParse(value);
        if (!valueCheck.success) {
          for (const issue of valueCheck.error.issues) ctx.addIssue({ ...issue, path: [k, ...issue.path] });
          continue;
        }
        entries.push([k, valueCheck.data]);
      }
      return userMapOf(entries) as UserMap;
    })
    .meta({ type: 'object', additionalProperties: { type: 'string', maxLength: maxValue } });
}
