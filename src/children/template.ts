// `{name}`, `{version}`, `{runId}`, `{runIdShort}` placeholders in user-supplied strings.
export interface TemplateValues {
  name: string;
  version: string;
  runId?: string;
}

export const RUN_ID_SHORT_LENGTH = 7;

export function renderTemplate(template: string, v: TemplateValues): string {
  const values: Record<string, string> = {
    name: v.name,
    version: v.version,
    runId: v.runId ?? 'norun',
    runIdShort: (v.runId ?? 'norun').slice(0, RUN_ID_SHORT_LENGTH),
  };
  return template.replace(/\{(name|version|runId|runIdShort)\}/g, (_, key: string) => values[key] as string);
}

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
