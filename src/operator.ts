// Wires the ModelDeployment controller: informers → work queue → reconciler.
import { CoreV1Api, CustomObjectsApi, KubeConfig, makeInformer } from '@kubernetes/client-node';
import type { KubernetesListObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, PLURAL, VERSION, type ModelDeployment } from './api/v1alpha1/modelDeployment.js';
import type { Config } from './config.js';
import { PollTracker } from './controller/context.js';
import { makeReconciler } from './controller/reconciler.js';
import { makeRegistryFactory } from './controller/registry.js';
import { ExponentialBackoff } from './runtime/backoff.js';
import { Controller } from './runtime/controller.js';
import { EventRecorder } from './runtime/events.js';
import { SupervisedInformer, keyOf, splitKey } from './runtime/informer.js';
import { StatusPatcher } from './runtime/statusPatch.js';
import { WorkQueue } from './runtime/workqueue.js';

type MD = ModelDeployment & { apiVersion?: string; kind?: string };

export class Operator {
  private readonly informers = new Map<string, SupervisedInformer<MD>>(); // by namespace, '' = all
  private readonly controller: Controller<string>;
  private readonly queue = new WorkQueue<string>({
    backoff: new ExponentialBackoff({ baseMs: 1000, maxMs: 300_000 }),
  });

  constructor(
    kc: KubeConfig,
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    const objects = kc.makeApiClient(CustomObjectsApi);
    const core = kc.makeApiClient(CoreV1Api);
    const namespaces = config.watchNamespaces.length > 0 ? config.watchNamespaces : [''];
    for (const ns of namespaces) {
      const path = ns
        ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`
        : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
      const list = (): Promise<KubernetesListObject<MD>> =>
        ns
          ? objects.listNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              namespace: ns,
              plural: PLURAL,
            })
          : objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL });
      this.informers.set(
        ns,
        new SupervisedInformer<MD>({
          name: `modeldeployments${ns ? `/${ns}` : ''}`,
          makeInformer: () => makeInformer<MD>(kc, path, list),
          onObject: (obj) => this.queue.add(keyOf(obj)),
          resyncPeriodMs: config.resyncPeriodMs,
          watchdogMs: config.watchIdleTimeoutMs,
          log,
        }),
      );
    }
    const reconcile = makeReconciler({
      get: (key) => this.get(key),
      statusPatcher: new StatusPatcher(objects, config.fieldManager),
      events: new EventRecorder(core, config.fieldManager, log),
      registryFor: makeRegistryFactory(core),
      polls: new PollTracker(),
      now: () => new Date(),
      log,
    });
    this.controller = new Controller({
      name: 'modeldeployment',
      queue: this.queue,
      reconcile,
      concurrency: config.maxConcurrentReconciles,
      log,
    });
  }

  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
    this.controller.start();
    this.log.info(
      { namespaces: this.config.watchNamespaces, workers: this.config.maxConcurrentReconciles },
      'Started controller',
    );
  }

  /** Stops watching, then lets in-flight reconciles finish. */
  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    await this.controller.stop();
  }

  private get(key: string): MD | undefined {
    const { namespace, name } = splitKey(key);
    const informer = this.informers.get(namespace) ?? this.informers.get('');
    return informer?.get(name, namespace);
  }
}
