// `{name}`, `{version}`, `{runId}`, `{runIdShort}` placeholders in user-supplied strings, and
// `{buildHash}` in image tags.
import { userMapOf, type UserMap } from '../api/v1alpha1/userMap.js';

export interface TemplateValues {
  name: string;
  version: string;
  runId?: string;
  /** Hash of what makes the image's content; only tags know it (build args feed it). */
  buildHash?: string;
}

export const RUN_ID_SHORT_LENGTH = 7;

export function renderTemplate(template: string, v: TemplateValues): string {
  const values: Record<string, string> = {
    name: v.name,
    version: v.version,
    runId: v.runId ?? 'norun',
    runIdShort: (v.runId ?? 'norun').slice(0, RUN_ID_SHORT_LENGTH),
    // Left as written where it is not known (build args, env).
    buildHash: v.buildHash ?? '{buildHash}',
  };
  return template.replace(
    /\{(name|version|runId|runIdShort|buildHash)\}/g,
    (_, key: string) => values[key] as string,
  );
}

/** Whether a tag template names the build hash, so a changed build spec gives a new tag. */
export const tagHasBuildHash = (template: string): boolean => template.includes('{buildHash}');

/** A Docker tag from a template: allowed characters only, at most 128, never empty. */
export function renderTag(template: string, v: TemplateValues): string {
  const tag = renderTemplate(template, v)
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128);
  return tag || `v${v.version}`;
}

/** Renders every value; the keys are the user's, so the result has no prototype either. */
export function renderMap(map: UserMap | undefined, v: TemplateValues): Record<string, string> {
  return userMapOf(Object.entries(map ?? {}).map(([k, val]) => [k, renderTemplate(val, v)]));
}

/** `base` then `over` (later keys win), as ordered name/value pairs; every key kept, own keys only. */
export function mergeMaps(...maps: (UserMap | undefined)[]): [string, string][] {
  const merged = new Map<string, string>();
  for (const map of maps) for (const [k, val] of Object.entries(map ?? {})) merged.set(k, val);
  return [...merged];
}
