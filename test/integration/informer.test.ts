// The informer supervisor against a real apiserver: a watch whose resource disappears and comes
// back (list and watch errors), and a watch the watchdog thinks is dead, both recover and
// deliver later objects.
import { CustomObjectsApi, makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { ExponentialBackoff } from '../../src/runtime/backoff.js';
import { SupervisedInformer } from '../../src/runtime/informer.js';
import { kubeConfig } from '../helpers/bed.js';
import { createNamespace, deleteNamespace, kubectl, kubectlOk } from '../helpers/kubectl.js';
import { waitFor } from '../helpers/wait.js';

const group = 'informer-test.example.com';
const crdName = `widgets.${group}`;
const crd = JSON.stringify({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: crdName },
  spec: {
    group,
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
});

let ns: string;
const informers: SupervisedInformer<KubernetesObject>[] = [];

async function installCrd(): Promise<void> {
  await kubectlOk(['apply', '-f', '-'], crd);
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', `crd/${crdName}`]);
}

async function createWidget(name: string): Promise<void> {
  // A CRD that was just (re)created may answer 404 for a moment.
  await waitFor(`widget ${name} created`, async () => {
    const r = await kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name, namespace: ns } }),
    );
    return r.code === 0;
  });
}

function supervise(seen: string[], watchdogMs: number): SupervisedInformer<KubernetesObject> {
  const kc = kubeConfig();
  const api = kc.makeApiClient(CustomObjectsApi);
  const informer = new SupervisedInformer<KubernetesObject>({
    name: 'widgets',
    makeInformer: () =>
      makeInformer(kc, `/apis/${group}/v1/namespaces/${ns}/widgets`, () =>
        api.listNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural: 'widgets' }),
      ),
    onObject: (obj, event) => seen.push(`${event}:${obj.metadata?.name}`),
    resyncPeriodMs: 600_000,
    watchdogMs,
    log: pino({ level: 'silent' }),
    backoff: new ExponentialBackoff({ baseMs: 200, maxMs: 1000, jitter: 0 }),
  });
  informers.push(informer);
  return informer;
}

beforeAll(async () => {
  ns = await createNamespace('informer');
});
afterAll(async () => {
  await Promise.all(informers.map((i) => i.stop()));
  await kubectl(['delete', 'crd', crdName, '--wait=false']);
  await deleteNamespace(ns);
});

test('recovers when the watched resource is missing, appears, disappears and returns', async () => {
  await kubectl(['delete', 'crd', crdName, '--ignore-not-found', '--wait=true']);
  const seen: string[] = [];
  const informer = supervise(seen, 600_000);
  await informer.start(); // the list fails with 404: the supervisor keeps retrying
  expect(informer.hasSynced).toBe(false);
  await waitFor('a restart after the failed list', async () => informer.restarts > 0);

  await installCrd();
  await createWidget('first');
  await waitFor(
    'first widget delivered',
    async () => seen.includes('add:first') || seen.includes('resync:first'),
  );
  expect(informer.hasSynced).toBe(true);

  await kubectlOk(['delete', 'crd', crdName, '--wait=true']);
  const restartsBefore = informer.restarts;
  await installCrd();
  await createWidget('second');
  await waitFor('second widget delivered after the CRD came back', async () =>
    seen.some((s) => s.endsWith(':second')),
  );
  expect(informer.restarts).toBeGreaterThanOrEqual(restartsBefore);
  expect(informer.get('second', ns)).toBeDefined();
  expect(informer.get('first', ns)).toBeUndefined(); // deleted with the CRD; the re-list dropped it
});

test('the watchdog restarts a quiet watch, which then still delivers', async () => {
  await installCrd();
  const seen: string[] = [];
  const informer = supervise(seen, 1000);
  await informer.start();
  await waitFor('a watchdog restart', async () => informer.restarts > 0, { timeoutMs: 15_000 });
  await createWidget('third');
  await waitFor('third widget delivered', async () => seen.some((s) => s.endsWith(':third')));
});
