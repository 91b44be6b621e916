import { describe, expect, it } from '@jest/globals';
import {
  RUN_ID_SHORT_LENGTH,
  renderMap,
  renderTag,
  renderTemplate,
  tagHasBuildHash,
  type TemplateValues,
} from '../../../src/children/template.js';

const v: TemplateValues = { name: 'Churn', version: '12', runId: '0123456789abcdef' };
const noRun: TemplateValues = { name: 'Churn', version: '12' };

describe('renderTemplate', () => {
  it.each<{ template: string; values: TemplateValues; out: string }>([
    { template: '{name}', values: v, out: 'Churn' },
    { template: '{version}', values: v, out: '12' },
    { template: '{runId}', values: v, out: '0123456789abcdef' },
    { template: '{runIdShort}', values: v, out: '0123456' },
    { template: 'v{version}-{runIdShort}', values: v, out: 'v12-0123456' },
    { template: '{name}/{version}/{name}', values: v, out: 'Churn/12/Churn' },
    { template: 'no placeholders', values: v, out: 'no placeholders' },
    { template: '', values: v, out: '' },
    { template: '{runId}', values: noRun, out: 'norun' },
    { template: '{runIdShort}', values: noRun, out: 'norun' },
    { template: '{runIdShort}', values: { ...v, runId: 'abc' }, out: 'abc' },
    // unknown or malformed placeholders are left as written
    { template: '{other}', values: v, out: '{other}' },
    { template: '{Name}', values: v, out: '{Name}' },
    { template: '{name', values: v, out: '{name' },
    { template: '{{name}}', values: v, out: '{Churn}' },
  ])('$template with $values.runId → $out', ({ template, values, out }) => {
    expect(renderTemplate(template, values)).toBe(out);
  });

  it('runIdShort is the first RUN_ID_SHORT_LENGTH (7) characters of the run id', () => {
    expect(RUN_ID_SHORT_LENGTH).toBe(7);
    expect(renderTemplate('{runIdShort}', v)).toHaveLength(7);
  });

  it('does not expand placeholders that come from the values themselves', () => {
    expect(renderTemplate('{name}-{version}', { name: '{version}', version: '{name}' })).toBe(
      '{version}-{name}',
    );
  });
});

describe('renderTag', () => {
  it.each<{ name: string; template: string; values: TemplateValues; out: string }>([
    { name: 'default template', template: 'v{version}-{runIdShort}', values: v, out: 'v12-0123456' },
    { name: 'no run id', template: 'v{version}-{runIdShort}', values: noRun, out: 'v12-norun' },
    { name: 'allowed characters kept', template: 'A_b.c-{version}', values: v, out: 'A_b.c-12' },
    { name: 'space replaced', template: '{name}', values: { ...v, name: 'Churn Model' }, out: 'Churn-Model' },
    { name: 'slash and colon replaced', template: '{name}', values: { ...v, name: 'a/b:c' }, out: 'a-b-c' },
    { name: 'non-ASCII replaced', template: '{name}', values: { ...v, name: 'modèle' }, out: 'mod-le' },
    { name: 'leading dots and dashes dropped', template: '{name}', values: { ...v, name: '..-x' }, out: 'x' },
    { name: 'leading illegal char dropped', template: '{name}', values: { ...v, name: '/x' }, out: 'x' },
    { name: 'underscore may lead', template: '_{version}', values: v, out: '_12' },
    { name: 'empty falls back to v<version>', template: '{name}', values: { ...v, name: '../' }, out: 'v12' },
    { name: 'all dashes fall back', template: '---', values: v, out: 'v12' },
  ])('$name: $template → $out', ({ template, values, out }) => {
    expect(renderTag(template, values)).toBe(out);
  });

  it.each([127, 128, 129, 300])('a %i-character result is capped at 128', (length) => {
    const tag = renderTag('{name}', { ...v, name: 'x'.repeat(length) });
    expect(tag).toBe('x'.repeat(Math.min(length, 128)));
  });

  it.each<{ name: string; values: TemplateValues; template: string }>([
    { name: 'default', template: 'v{version}-{runIdShort}', values: v },
    { name: 'illegal name', template: '{name}-{version}', values: { ...v, name: 'Ünïcödé model/v2:x' } },
    { name: 'long name', template: '{name}{runId}', values: { ...v, name: 'n'.repeat(500) } },
    { name: 'empty', template: '{name}', values: { ...v, name: '' } },
  ])('$name: always a valid, non-empty Docker tag', ({ template, values }) => {
    const tag = renderTag(template, values);
    expect(tag).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
  });

  it('is deterministic: the same version always gives the same tag', () => {
    expect(renderTag('v{version}-{runIdShort}', v)).toBe(renderTag('v{version}-{runIdShort}', { ...v }));
  });
});

describe('renderMap', () => {
  it.each<{ name: string; map: Record<string, string> | undefined; out: Record<string, string> }>([
    { name: 'undefined', map: undefined, out: {} },
    { name: 'empty', map: {}, out: {} },
    {
      name: 'values templated, keys not',
      map: { '{name}': '{name}', URI: 'runs:/{runId}/model', V: 'v{version}', PLAIN: 'x' },
      out: { '{name}': 'Churn', URI: 'runs:/0123456789abcdef/model', V: 'v12', PLAIN: 'x' },
    },
  ])('$name', ({ map, out }) => {
    expect(renderMap(map, v)).toEqual(out);
  });

  it('keeps the key order', () => {
    expect(Object.keys(renderMap({ Z: '1', A: '2', M: '3' }, v))).toEqual(['Z', 'A', 'M']);
  });

  it('does not change its input', () => {
    const map = { A: '{version}' };
    renderMap(map, v);
    expect(map).toEqual({ A: '{version}' });
  });
});

describe('{buildHash}', () => {
  it('is replaced in tags that are given it, and left as written elsewhere', () => {
    expect(renderTag('v{version}-{runIdShort}-{buildHash}', { ...v, buildHash: '1a2b3c4d' })).toBe(
      'v12-0123456-1a2b3c4d',
    );
    expect(renderTemplate('{buildHash}', v)).toBe('{buildHash}');
  });

  it('tagHasBuildHash tells whether a changed build spec gives a new tag', () => {
    expect(tagHasBuildHash('v{version}-{runIdShort}-{buildHash}')).toBe(true);
    expect(tagHasBuildHash('v{version}-{runIdShort}')).toBe(false);
  });
});
