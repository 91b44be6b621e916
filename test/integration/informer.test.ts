// The informer supervisor and the reflector against a real apiserver: a watch whose resource
// disappears and comes back (list and watch errors), and a watch the watchdog thinks is dead,
// both recover and deliver later objects; a quiet watch stays connected; a watch the server
// ends resumes without a new list; lists are paged; the cache keeps what the transform keeps.
import { CONNECT, type KubernetesObject } from '@kubernetes/client-node';
import { pino } from 'pino';
import { ExponentialBackoff } from '../../src/runtime/backoff.js';
import { SupervisedInformer } from '../../src/runtime/informer.js';
import { Reflector } from '../../src/runtime/reflector.js';
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
  const informer = new SupervisedInformer<KubernetesObject>({
    name: 'widgets',
    makeInformer: () => new Reflector(kc, { path: `/apis/${group}/v1/namespaces/${ns}/widgets` }),
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

describe('reflector', () => {
  const reflectors: Reflector<KubernetesObject>[] = [];
  afterAll(async () => Promise.all(reflectors.map((r) => r.stop())));
  const reflect = (options: { minWatchTimeoutSeconds?: number; pageSize?: number } = {}) => {
    const r = new Reflector(kubeConfig(), { path: `/apis/${group}/v1/namespaces/${ns}/widgets`, ...options });
    reflectors.push(r);
    const events: string[] = [];
    let connects = 0;
    r.on('add', (o) => events.push(`add:${o.metadata?.name}`));
    r.on('update', (o) => events.push(`update:${o.metadata?.name}`));
    r.on('delete', (o) => events.push(`delete:${o.metadata?.name}`));
    r.on(CONNECT, () => connects++);
    return { r, events, connects: () => connects };
  };

  test('lists in pages and keeps objects without their managed fields', async () => {
    await installCrd();
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) await createWidget(n);
    const { r } = reflect({ pageSize: 2 });
    await r.start();
    const names = r.list(ns).map((o) => o.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(['p1', 'p2', 'p3', 'p4', 'p5']));
    expect(r.get('p1', ns)?.metadata?.managedFields).toBeUndefined();
  });

  test('a watch the apiserver ends resumes from its resourceVersion: no new list, nothing re-delivered', async () => {
    await installCrd();
    const { r, events, connects } = reflect({ minWatchTimeoutSeconds: 1 });
    await r.start();
    const listed = events.length;
    await waitFor('the apiserver ends the watch and it resumes', async () => connects() >= 3, {
      timeoutMs: 20_000,
    });
    expect(events.length).toBe(listed); // resumed, not listed again
    await createWidget('after-resume');
    await waitFor('delivered after resuming', async () => events.includes('add:after-resume'));
  });

  test('a quiet watch stays connected past the 30 s that client-node allows', async () => {
    await installCrd();
    const { r, connects } = reflect();
    await r.start();
    await new Promise((resolve) => setTimeout(resolve, 40_000));
    expect(connects()).toBe(1);
    await createWidget('after-quiet');
    await waitFor('delivered after 40 s of quiet', async () => r.get('after-quiet', ns) !== undefined);
  }, 60_000);
});
