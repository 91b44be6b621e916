// The README's reason table is the users' copy of the catalogue: every condition reason, run
// result and Event reason must be in it, and it must name none that the operator cannot write.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { ConditionType, EventReason, Reason, RunResult } from '../../../src/api/v1alpha1/conditions.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** The backticked names in the first column of the table that starts with `| reason |`. */
function reasonTable(markdown: string): Set<string> {
  const start = markdown.indexOf('| reason | kind | what to do |');
  expect(start).toBeGreaterThanOrEqual(0);
  const rows = markdown.slice(start).split('\n').slice(2);
  const table = rows.slice(
    0,
    rows.findIndex((line) => !line.startsWith('|')),
  );
  return new Set(
    table.flatMap((row) =>
      [...(row.split('|')[1] ?? '').matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1] as string),
    ),
  );
}

describe('the reason catalogue', () => {
  const listed = reasonTable(readme);
  const catalogue = new Set([
    ...Object.values(Reason),
    ...Object.values(RunResult),
    ...Object.values(EventReason),
  ]);

  it.each([...catalogue])('the README table lists %s', (reason) => {
    expect(listed).toContain(reason);
  });

  it('the README table names no reason outside the catalogue', () => {
    expect([...listed].filter((r) => !catalogue.has(r as never))).toEqual([]);
  });

  it('names are PascalCase and each constant is its own name', () => {
    for (const table of [ConditionType, Reason, RunResult, EventReason]) {
      for (const [key, value] of Object.entries(table)) {
        expect(value).toBe(key);
        expect(value).toMatch(/^[A-Z][A-Za-z]+$/);
      }
    }
  });
});
