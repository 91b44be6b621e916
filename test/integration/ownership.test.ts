// One ModelDeployment per serving container: the first to claim a container (an annotation on
// the Deployment) keeps it; a second is Stalled naming the first, before it builds anything, and
// the two never fight over the Deployment. Deleting the first releases the claim.
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import {
  applyMd,
  childJobs,
  condition,
  getMd,
  isStalled,
  succeededAt,
  waitForMd,
  type MdObject,
} from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment, getDeployment } from '../helpers/serving.js';

const env = operatorInNamespace('owner');
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const CLAIM = 'claim.mlops.healthpredict.io/api';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A builder-none spec (only the model env changes); `kaniko` builds an image first. */
function spec(model: string, deployment: string, kaniko = false) {
  return {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    ...(kaniko
      ? {
          image: { repository: `${registryHost}/owner-${Date.now().toString(36)}` },
          build: { builder: 'kaniko', context: 'git://git.example/acme/serving.git' },
        }
      : { build: { builder: 'none' } }),
    deployment: { name: deployment, container: 'api' },
  };
}

/** The model the container serves (both models are at version 1: the URI tells them apart). */
const modelUriEnv = async (deployment: string) =>
  (await getDeployment(env.ns, deployment)).spec.template.spec.containers
    .find((c) => c.name === 'api')
    ?.env?.find((e) => e.name === 'MODEL_URI')?.value;
const uri = (m: { name: string; version: string }) => `models:/${m.name}/${m.version}`;

const claimOf = async (deployment: string) =>
  (await getDeployment(env.ns, deployment)).metadata.annotations?.[CLAIM];

test('a second ModelDeployment on a claimed container is Stalled naming the first, builds nothing, and deleting the first hands it over', async () => {
  const a = await mlflow().createChampion('own-a');
  const b = await mlflow().createChampion('own-b');
  await createServingDeployment(env.ns, 'api-own');
  await applyMd(env.ns, 'first', spec(a.name, 'api-own'));
  await waitForMd(env.ns, 'first', 'Succeeded', succeededAt(a.version), 90_000);

  await applyMd(env.ns, 'second', spec(b.name, 'api-own', true));
  const second = await waitForMd(env.ns, 'second', 'Stalled', isStalled, 60_000);
  expect(condition(second, 'Stalled')).toMatchObject({ reason: 'TargetClaimed' });
  expect(condition(second, 'Stalled')?.message).toContain('ModelDeployment "first"');
  expect(await childJobs(env.ns, 'image-build', 'second')).toEqual([]);

  // The first keeps the container: no fight, the Deployment does not move.
  const generation = (await getDeployment(env.ns, 'api-own')).metadata.generation;
  await sleep(12_000); // two poll intervals of both objects
  expect((await getDeployment(env.ns, 'api-own')).metadata.generation).toBe(generation);
  expect(await modelUriEnv('api-own')).toBe(uri(a));
  expect(await claimOf('api-own')).toBe('first');
  const first = await getMd(env.ns, 'first');
  expect(condition(first, 'Ready')?.status).toBe('True');

  // Deleting the first releases the claim (its finalizer), and the second proceeds.
  await kubectlOk(['-n', env.ns, 'delete', 'modeldeployment', 'first', '--timeout=30s']);
  await waitForMd(env.ns, 'second', 'Succeeded', (md) => md.status?.phase === 'Succeeded', 120_000);
  expect(await claimOf('api-own')).toBe('second');
});

test('two ModelDeployments created together for one container: exactly one wins, and only its writes reach the Deployment', async () => {
  const a = await mlflow().createChampion('race-a');
  const b = await mlflow().createChampion('race-b');
  await createServingDeployment(env.ns, 'api-race');
  const generation = (await getDeployment(env.ns, 'api-race')).metadata.generation;
  await Promise.all([
    applyMd(env.ns, 'racer-a', spec(a.name, 'api-race')),
    applyMd(env.ns, 'racer-b', spec(b.name, 'api-race')),
  ]);
  const settled = (md: MdObject) => md.status?.phase === 'Succeeded' || isStalled(md);
  const [ra, rb] = await Promise.all([
    waitForMd(env.ns, 'racer-a', 'settled', settled, 90_000),
    waitForMd(env.ns, 'racer-b', 'settled', settled, 90_000),
  ]);
  await sleep(10_000); // and they stay so
  const final = [await getMd(env.ns, 'racer-a'), await getMd(env.ns, 'racer-b')];
  const winners = final.filter((md) => md.status?.phase === 'Succeeded');
  const losers = final.filter(isStalled);
  expect({ winners: winners.length, losers: losers.length, phases: [ra, rb].length }).toEqual({
    winners: 1,
    losers: 1,
    phases: 2,
  });
  const winner = winners[0]!.metadata.name;
  expect(await claimOf('api-race')).toBe(winner);
  expect(condition(losers[0]!, 'Stalled')?.message).toContain(`ModelDeployment "${winner}"`);
  expect(await modelUriEnv('api-race')).toBe(uri(winner === 'racer-a' ? a : b));
  // The winner's claim (the apiserver counts a Deployment's annotations in its generation; no
  // rollout) and the winner's one rollout: nothing of the loser's.
  expect((await getDeployment(env.ns, 'api-race')).metadata.generation - generation).toBe(2);
});
