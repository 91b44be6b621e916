import { describe, expect, it } from '@jest/globals';
import type { MlflowMetricCheck } from '../../../../src/api/v1alpha1/analysis.js';
import { judgeMetrics, type VersionMetrics } from '../../../../src/controller/policies/judgeMetrics.js';

const run = (version: string, metrics: Record<string, number>): VersionMetrics => ({
  version,
  runId: `r${version}`,
  metrics,
});
const rmse = (extra: Partial<MlflowMetricCheck>): MlflowMetricCheck => ({
  name: 'rmse',
  better: 'Lower',
  ...extra,
});
const acc = (extra: Partial<MlflowMetricCheck>): MlflowMetricCheck => ({
  name: 'acc',
  better: 'Higher',
  ...extra,
});

describe('judgeMetrics', () => {
  it.each<
    [string, MlflowMetricCheck[], VersionMetrics, VersionMetrics | undefined, 'passed' | 'failed', string]
  >([
    [
      'lower is better, under the bound',
      [rmse({ threshold: '0.3' })],
      run('7', { rmse: 0.21 }),
      undefined,
      'passed',
      'version 7: rmse = 0.21, at most 0.3',
    ],
    [
      'lower is better, on the bound',
      [rmse({ threshold: '0.3' })],
      run('7', { rmse: 0.3 }),
      undefined,
      'passed',
      'at most 0.3',
    ],
    [
      'lower is better, over the bound',
      [rmse({ threshold: '0.3' })],
      run('7', { rmse: 0.31 }),
      undefined,
      'failed',
      'version 7: rmse = 0.31, but spec.analysis.mlflowMetrics needs at most 0.3',
    ],
    [
      'higher is better, under the bound',
      [acc({ threshold: '9e-1' })],
      run('7', { acc: 0.89 }),
      undefined,
      'failed',
      'needs at least 9e-1',
    ],
    [
      'higher is better, over the bound',
      [acc({ threshold: '.9' })],
      run('7', { acc: 0.95 }),
      undefined,
      'passed',
      'acc = 0.95, at least .9',
    ],
    [
      'not logged',
      [rmse({ threshold: '1' })],
      run('7', { acc: 1 }),
      undefined,
      'failed',
      `version 7's MLflow run r7 logged no metric "rmse"`,
    ],
    [
      'logged as NaN',
      [rmse({ threshold: '1' })],
      run('7', { rmse: NaN }),
      undefined,
      'failed',
      'logged rmse = NaN',
    ],
    [
      'no run',
      [rmse({ threshold: '1' })],
      { version: '7', missing: 'was registered without an MLflow run' },
      undefined,
      'failed',
      'version 7 was registered without an MLflow run',
    ],
    [
      'worse than serving',
      [rmse({ notWorseThanServing: { tolerance: '0' } })],
      run('7', { rmse: 0.25 }),
      run('6', { rmse: 0.2 }),
      'failed',
      "version 7: rmse = 0.25 is worse than version 6's 0.2 that serves (tolerance 0)",
    ],
    [
      'worse within the tolerance',
      [rmse({ notWorseThanServing: { tolerance: '0.06' } })],
      run('7', { rmse: 0.25 }),
      run('6', { rmse: 0.2 }),
      'passed',
      "not worse than version 6's 0.2",
    ],
    [
      'higher is better, worse than serving',
      [acc({ notWorseThanServing: { tolerance: '0.01' } })],
      run('7', { acc: 0.9 }),
      run('6', { acc: 0.92 }),
      'failed',
      'is worse than',
    ],
    [
      'higher is better, better than serving',
      [acc({ notWorseThanServing: { tolerance: '0' } })],
      run('7', { acc: 0.93 }),
      run('6', { acc: 0.92 }),
      'passed',
      "acc = 0.93, not worse than version 6's 0.92",
    ],
    [
      'nothing serves yet',
      [acc({ notWorseThanServing: { tolerance: '0' } })],
      run('7', { acc: 0.5 }),
      undefined,
      'passed',
      'no version serves yet',
    ],
    [
      'serving logged no such metric',
      [acc({ notWorseThanServing: { tolerance: '0' } })],
      run('7', { acc: 0.5 }),
      run('6', {}),
      'failed',
      'cannot compare with the serving version: version 6\'s MLflow run r6 logged no metric "acc"; log acc for it, or remove notWorseThanServing',
    ],
    [
      'both, the bound fails first',
      [acc({ threshold: '0.95', notWorseThanServing: { tolerance: '0' } })],
      run('7', { acc: 0.93 }),
      run('6', { acc: 0.92 }),
      'failed',
      'needs at least 0.95',
    ],
    [
      'two checks, the second fails',
      [acc({ threshold: '0.9' }), rmse({ threshold: '0.1' })],
      run('7', { acc: 0.93, rmse: 0.2 }),
      undefined,
      'failed',
      'rmse = 0.2',
    ],
    [
      'two checks pass, both said',
      [acc({ threshold: '0.9' }), rmse({ threshold: '0.3' })],
      run('7', { acc: 0.93, rmse: 0.2 }),
      undefined,
      'passed',
      'version 7: acc = 0.93, at least 0.9; rmse = 0.2, at most 0.3',
    ],
  ])('%s', (_name, checks, candidate, serving, kind, said) => {
    const verdict = judgeMetrics({ checks, candidate, serving });
    expect(verdict.kind).toBe(kind);
    expect(verdict.message).toContain(said);
  });
});
