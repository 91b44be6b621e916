// One slow MLflow must not starve the others: objects whose registries never answer (with a
// long timeout) must not hold the operator's workers.
import { bed } from '../helpers/bed.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, condition, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { RegistryProxy } from '../helpers/registryProxy.js';
import { waitFor } from '../helpers/wait.js';

const env = operatorInNamespace('slowreg');
const hanging: RegistryProxy[] = [];

afterAll(() => Promise.all(hanging.map((p) => p.dispose())));

test('four hanging registries with timeoutSeconds 300 do not hold up a healthy object', async () => {
  for (let i = 0; i < 4; i++) hanging.push(await new RegistryProxy().start('hang'));
  for (const [i, p] of hanging.entries()) {
    await applyMd(env.ns, `hang-${i}`, {
      model: { name: 'm', alias: 'champion', pollInterval: '10s' },
      registry: { trackingUri: p.uri, timeoutSeconds: 300 },
    });
  }
  // Every hanging registry has a request in flight: the operator's 4 workers were all asked.
  await waitFor('a request at each hanging registry', async () => hanging.every((p) => p.requests > 0), {
    timeoutMs: 30_000,
    intervalMs: 100,
  });

  const { name, version } = await new MlflowAdmin(bed.mlflowUri).createChampion('healthy');
  const started = Date.now();
  await applyMd(env.ns, 'healthy', {
    model: { name, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
  });
  await waitForMd(
    env.ns,
    'healthy',
    'Ready',
    (m) => m.status?.model?.version === version && condition(m, 'Ready')?.status === 'True',
    20_000,
  );
  const seconds = (Date.now() - started) / 1000;
  console.log(`healthy object Ready ${seconds.toFixed(1)} s after it was applied`);
  expect(seconds).toBeLessThan(10);

  // The hanging ones say they are waiting on MLflow, without a verdict.
  const hang = await waitForMd(
    env.ns,
    'hang-0',
    'Ready=False',
    (m) => condition(m, 'Ready')?.status === 'False',
    10_000,
  );
  expect(condition(hang, 'Ready')?.reason).toBe('RegistrySlow');
  expect(condition(hang, 'Ready')?.message).toContain('has not answered');
});
