// The phase metric: one series per object, replaced on a phase change, removed with the object.
import { describe, expect, it } from '@jest/globals';
import { OperatorMetrics } from '../../src/metrics.js';

const series = async (m: OperatorMetrics) =>
  (await m.phase.get()).values.map(
    (v) => `${v.labels.namespace}/${v.labels.name} ${v.labels.phase}=${v.value}`,
  );

describe('modeldeployment_phase', () => {
  it('keeps one series per object, with its current phase', async () => {
    const m = new OperatorMetrics();
    m.setPhase('ml', 'a', 'Building');
    m.setPhase('ml', 'b', 'Succeeded');
    m.setPhase('ml', 'a', 'Testing');
    expect((await series(m)).sort()).toEqual(['ml/a Testing=1', 'ml/b Succeeded=1']);
  });

  it('removes the series of a deleted object (no growth across create/delete cycles)', async () => {
    const m = new OperatorMetrics();
    for (let cycle = 0; cycle < 3; cycle++) {
      for (let i = 0; i < 100; i++) m.setPhase('ml', `md-${i}`, 'Succeeded');
      for (let i = 0; i < 100; i++) m.forget('ml', `md-${i}`);
    }
    expect(await series(m)).toEqual([]);
  });

  it('an object without a phase has no series', async () => {
    const m = new OperatorMetrics();
    m.setPhase('ml', 'a', 'Building');
    m.setPhase('ml', 'a', undefined);
    expect(await series(m)).toEqual([]);
  });
});
