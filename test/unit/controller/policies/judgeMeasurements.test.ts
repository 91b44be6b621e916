import { describe, expect, it } from '@jest/globals';
import type { PrometheusAnalysis } from '../../../../src/api/v1alpha1/analysis.js';
import {
  judgeValue,
  nextMeasurement,
  renderQuery,
} from '../../../../src/controller/policies/judgeMeasurements.js';

const check: PrometheusAnalysis = {
  address: 'http://p:9090',
  query: 'q',
  max: '0.05',
  interval: '10s',
  count: 3,
  failureLimit: 1,
};
const NOW = new Date('2026-01-01T00:01:00Z');

describe('nextMeasurement', () => {
  it.each([
    ['first one at once', { measurements: 0, failed: 0 }, { kind: 'measure' }],
    [
      'the next after the interval',
      { measurements: 1, failed: 0, lastAt: '2026-01-01T00:00:55Z' },
      { kind: 'wait', ms: 5000 },
    ],
    ['due', { measurements: 1, failed: 0, lastAt: '2026-01-01T00:00:50Z' }, { kind: 'measure' }],
    [
      'one failure is allowed',
      { measurements: 2, failed: 1, lastAt: '2026-01-01T00:00:00Z' },
      { kind: 'measure' },
    ],
    [
      'two are not',
      { measurements: 2, failed: 2 },
      { kind: 'failed', message: '2 of 2 measurements failed, more than failureLimit 1' },
    ],
    [
      'count reached',
      { measurements: 3, failed: 1 },
      { kind: 'passed', message: '2 of 3 measurements passed' },
    ],
  ])('%s', (_name, state, verdict) => {
    expect(nextMeasurement(check, state, NOW)).toEqual(verdict);
  });
});

describe('judgeValue', () => {
  it.each<[number | undefined, { min?: string; max?: string }, boolean, string]>([
    [0.01, { max: '0.05' }, true, '0.01 (wanted ≤ 0.05)'],
    [0.05, { max: '0.05' }, true, '0.05 (wanted ≤ 0.05)'],
    [0.2, { max: '0.05' }, false, '0.2 (wanted ≤ 0.05)'],
    [3, { min: '5', max: '10' }, false, '3 (wanted ≥ 5 and ≤ 10)'],
    [7, { min: '5', max: '10' }, true, '7 (wanted ≥ 5 and ≤ 10)'],
    [undefined, { max: '1' }, false, 'the query had no result'],
    [NaN, { max: '1' }, false, 'the query answered NaN'],
  ])('%s against %j', (value, bounds, passed, said) => {
    expect(judgeValue(value, bounds)).toEqual({ passed, said });
  });
});

it('renderQuery fills in the placeholders and leaves PromQL braces alone', () => {
  expect(
    renderQuery('sum(rate(x{pod=~"{canary}-.*",ns="{namespace}",v="{version}"}[1m]))', {
      namespace: 'ml',
      canary: 'c',
      version: '4',
    }),
  ).toBe('sum(rate(x{pod=~"c-.*",ns="ml",v="4"}[1m]))');
});
