// The plugin's text helpers: durations, ages, short images, one-line messages, columns.
import { describe, expect, it } from '@jest/globals';
import { ago, columns, humanDuration, oneLine, shortImage } from '../../../src/cli/format.js';
import { NOW } from './fixtures.js';

describe('humanDuration', () => {
  const s = 1000;
  const table: [number, string][] = [
    [-5 * s, '0s'],
    [0, '0s'],
    [999, '0s'],
    [45 * s, '45s'],
    [60 * s, '1m'],
    [192 * s, '3m12s'],
    [3600 * s, '1h'],
    [(2 * 3600 + 5 * 60 + 7) * s, '2h5m'],
    [(3 * 86_400 + 4 * 3600 + 59) * s, '3d4h'],
    [(3 * 86_400 + 59 * 60) * s, '3d'],
  ];
  it.each(table)('%d ms → %s', (ms, text) => expect(humanDuration(ms)).toBe(text));
});

describe('ago', () => {
  it.each([
    ['2025-03-01T11:55:00Z', '5m ago'],
    ['2025-03-01T12:00:30Z', '0s ago'], // a clock behind the apiserver's
    [undefined, '-'],
    ['not a time', '-'],
  ])('%s → %s', (time, text) => expect(ago(time, NOW)).toBe(text));
});

describe('shortImage', () => {
  const digest = 'sha256:' + '0123456789abcdef'.repeat(4);
  it.each([
    [`1234.dkr.ecr.eu-west-1.amazonaws.com/ml/iris@${digest}`, 'iris@sha256:0123456789ab'],
    [`registry:5000/iris:v3@${digest}`, 'iris:v3@sha256:0123456789ab'],
    ['python:3.12-slim', 'python:3.12-slim'],
    ['localhost:5000/team/app:1.0', 'app:1.0'],
    [undefined, '-'],
  ])('%s → %s', (ref, text) => expect(shortImage(ref)).toBe(text));
});

describe('oneLine', () => {
  it('joins lines and cuts with an ellipsis', () => {
    expect(oneLine('failed:\n  AssertionError   here', 100)).toBe('failed: AssertionError here');
    expect(oneLine('abcdefghij', 6)).toBe('abcde…');
    expect(oneLine(undefined, 6)).toBe('');
  });
});

describe('columns', () => {
  it('pads every column but the last, and counts ✔ as one character', () => {
    expect(
      columns(
        [
          ['✔ Build', 'Built', 'done'],
          ['◌ Approval', 'AwaitingApproval', ''],
        ],
        '  ',
      ),
    ).toEqual(['  ✔ Build     Built             done', '  ◌ Approval  AwaitingApproval']);
  });
});
