import { describe, expect, it } from '@jest/globals';
import { GO_DURATION, parseDurationMs } from '../../../src/runtime/duration.js';

const valid: [string, number][] = [
  ['10s', 10_000],
  ['500ms', 500],
  ['1.5s', 1500],
  ['1h30m', 5_400_000],
  ['1m30s', 90_000],
  ['90s', 90_000],
  ['2h', 7_200_000],
  ['1.5h', 5_400_000],
  ['0.5m', 30_000],
  ['1h1m1s1ms', 3_661_001],
  ['1s500ms', 1500],
  ['100us', 0.1],
  ['1000000ns', 1],
  ['0s', 0],
  ['0.1s', 100],
  ['1.1s', 1100],
  ['30s30s', 60_000], // Go also sums repeated units
];

const invalid = [
  '',
  '10', // no unit
  '1.5', // no unit
  's', // no number
  'ms',
  '1 h',
  ' 10s',
  '10s ',
  '1H', // units are lower case
  '1S',
  '-1s', // Go allows signs; the CRD does not
  '+1s',
  '.5s', // Go allows a bare fraction; the regex does not
  '5.s',
  '1d', // no day unit in Go
  '1w',
  '1hour',
  '1h30', // trailing number without unit
  'soon',
  '1µs', // Go's micro sign is not accepted
  '1e3s',
  '0x10s',
];

describe('parseDurationMs', () => {
  it.each(valid)('%s → %p ms', (text, ms) => {
    expect(GO_DURATION.test(text)).toBe(true);
    expect(parseDurationMs(text)).toBeCloseTo(ms, 9);
  });

  it.each(invalid)('rejects %p', (text) => {
    expect(GO_DURATION.test(text)).toBe(false);
    expect(() => parseDurationMs(text)).toThrow(`invalid duration "${text}"`);
  });
});
