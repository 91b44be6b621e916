// `{name}`, `{version}`, `{runId}`, `{runIdShort}` placeholders in user-supplied strings, and
// `{buildHash}` in image tags.
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

export function renderMap(
  map: Record<string, string> | undefined,
  v: TemplateValues,
): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).map(([k, val]) => [k, renderTemplate(val, v)]));
}
