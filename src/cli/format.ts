// Text helpers of the plugin's views: durations, ages, short images, aligned columns. Pure: the
// time they measure against is always passed in.
import { boundMessage } from '../runtime/errors.js';

/** A compact duration, two units at most: 45s, 3m12s, 2h5m, 3d4h. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const units: [number, string][] = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor(s / 3600) % 24, 'h'],
    [Math.floor(s / 60) % 60, 'm'],
    [s % 60, 's'],
  ];
  const first = units.findIndex(([n]) => n > 0);
  if (first < 0) return '0s';
  return units
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join('');
}

/** Milliseconds since the epoch of an RFC 3339 time, or undefined when absent or unreadable. */
export function timeOf(text: string | undefined): number | undefined {
  const t = text === undefined ? NaN : Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/** "5m ago", or "-" for a time that is not there. */
export function ago(text: string | undefined, now: Date): string {
  const t = timeOf(text);
  return t === undefined ? '-' : `${humanDuration(now.getTime() - t)} ago`;
}

/** A message on one line, cut with an ellipsis: people read the start, `describe` has the rest. */
export function oneLine(text: string | undefined, max: number): string {
  return boundMessage((text ?? '').replace(/\s+/g, ' ').trim(), max);
}

/** The last path segment of an image, with its digest cut to 12 hex digits:
 * 1234.dkr.ecr.eu-west-1.amazonaws.com/ml/iris@sha256:0a1b… → iris@sha256:0a1b2c3d4e5f. */
export function shortImage(ref: string | undefined): string {
  if (!ref) return '-';
  const at = ref.indexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const digest = at < 0 ? '' : ref.slice(at);
  const short = name.slice(name.lastIndexOf('/') + 1);
  return short + digest.replace(/^(@[a-z0-9]+:[0-9a-f]{12})[0-9a-f]*$/, '$1');
}

/** Rows as columns two blanks apart; the last column is not padded, so lines end with text. */
export function columns(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - width(cell))))
        .join('  ')
        .trimEnd(),
  );
}

/** Characters as a terminal shows them (code points, so ✔ and … count as one). */
const width = (text: string): number => [...text].length;
