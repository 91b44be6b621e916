// Value formats the zod schema and the generated CRD share. Every regex here means the same in
// JavaScript and in Go's RE2, which runs the CRD's `pattern` and CEL `matches()`: no \s \S \w \d
// (Unicode in JavaScript, ASCII in RE2), classes spelled out instead; the ones using \p{…} carry
// the `u` flag, which RE2 does not need. A number type of `integer` is checked by the apiserver
// with a tolerance, which `apiInteger` copies.
import { z } from 'zod';

/** Unicode separators (spaces, line and paragraph separators) and control characters. */
const BLANK = '\\p{Z}\\p{Cc}';

// MLflow accepts almost any model name; we refuse the characters that break its URIs
// (models:/<name>/<version>) and leading/trailing blanks.
export const MODEL_NAME = new RegExp(`^[^/:%${BLANK}]([^/:%]*[^/:%${BLANK}])?$`, 'u');
// MLflow's own rule is Python's `^[\w\-]*$`, whose \w is Unicode letters, digits and "_".
export const ALIAS = /^[\p{L}\p{N}_-]+$/u;
// MLflow reserves v<digits> with Python's Unicode \d.
export const VERSION_LIKE_ALIAS = /^[vV]\p{Nd}+$/u;
export const HTTP_URL = new RegExp(`^https?://[^${BLANK}/?#]+(/[^${BLANK}?#]*)?$`, 'u');
export const BUILD_CONTEXT = new RegExp(`^(git|s3|gs|https?|dir|tar)://[^${BLANK}]+$`, 'u');
/** An image reference never holds a blank; one around it made the Pod wait for its deadline. */
export const IMAGE = new RegExp(`^[^${BLANK}]+$`, 'u');
// Kubernetes' env var names: not ".", and not starting with "..".
export const ENV_NAME = /^([-_a-zA-Z][-._a-zA-Z0-9]*|\.[-_a-zA-Z0-9][-._a-zA-Z0-9]*)$/;
// Container resource names: the standard ones, hugepages-<size>, or <dns-subdomain>/<name>.
export const RESOURCE_NAME =
  /^(cpu|memory|ephemeral-storage|hugepages-[0-9]+[KMGTPE]i|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
// The Kubernetes quantity grammar without the minus sign (a negative request can never be
// scheduled) and with at most three exponent digits: the apiserver's quantity parser accepts
// "", "+" or "Ki" alone and stalls on exponents near 2^31, neither of which a user means.
export const QUANTITY = /^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,3})?$/;

/** Kubernetes names: a DNS label (Services, containers) and a DNS subdomain (most objects). */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A regex as a single-quoted CEL string literal. */
export function celString(re: RegExp): string {
  return `'${re.source.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A CEL rule that every key of a map matches `re`. */
export function keysMatch(re: RegExp, what: string) {
  return { rule: `self.all(k, k.matches(${celString(re)}))`, message: `every key must be ${what}` };
}

/**
 * `type: integer` as the apiserver decides it (go-openapi's IsFloat64AJSONInteger): a finite
 * number within 2^53 whose distance to its truncation t, divided by |f| + |t|, is below 1e-9.
 * So 60.0000001 is an integer there, 60.0000002 and 60.5 are not, nor any fraction below 1.
 */
export function isApiInteger(f: number): boolean {
  if (!Number.isFinite(f) || Math.abs(f) > Number.MAX_SAFE_INTEGER) return false;
  if (Number.isInteger(f)) return true;
  const t = Math.trunc(f);
  // Go converts through uint64: a negative fraction never equals it, and t = 0 is never close.
  if (f < 0 || t === 0) return false;
  return (f - t) / (f + t) < 1e-9;
}

/** An integer field: what the apiserver calls an integer, truncated to the integer it means. */
export function apiInteger(min: number, max: number) {
  return z
    .number()
    .min(min)
    .max(max)
    .refine(isApiInteger, { message: 'expected an integer' })
    .overwrite(Math.trunc)
    .meta({ type: 'integer' });
}
