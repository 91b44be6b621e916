// The composition root: builds the clients, one informer per declared watch and watched
// namespace (controller/watches.ts says what each change wakes), the work queue and the
// reconciler, and starts and stops them together.
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, PLURAL, VERSION, type ModelDeployment } from './api/v1alpha1/modelDeployment.js';
import { CodeBuildBuilder } from './builders/codebuild.js';
import { KanikoBuilder } from './builders/kaniko.js';
import { EcrRepositories } from './clients/ecr.js';
import type { Config } from './config.js';
import { PollTracker } from './controller/context.js';
import { makeReconciler } from './controller/reconciler.js';
import { makeRegistryFactory } from './controller/registry.js';
import { childWatches, wakeSelf, type ModelDeploymentLookup } from './controller/watches.js';
import { queryInstant } from './clients/prometheus.js';
import { followersOf } from './controller/webhookWakes.js';
import { OperatorMetrics } from './metrics.js';
import { ExponentialBackoff } from './runtime/backoff.js';
import { CachingAppsV1Api, CachingBatchV1Api, UnseenWrites, type CacheFeed } from './runtime/cachedReads.js';
import { Controller } from './runtime/controller.js';
import { EventRecorder } from './runtime/events.js';
import { SupervisedInformer, splitKey } from './runtime/informer.js';
import { Reflector } from './runtime/reflector.js';
import { StatusPatcher } from './runtime/statusPatch.js';
import { WorkQueue } from './runtime/workqueue.js';

type MD = ModelDeployment & KubernetesObject;

/** One canary measurement may take this long before it counts as Prometheus being unreachable. */
const PROMETHEUS_TIMEOUT_MS = 10_000;

export class Operator {
  private readonly mds = new Map<string, SupervisedInformer<MD>>(); // by namespace, '' = all
  /** By `<watch name>/<namespace>`, '' = all namespaces. */
  private readonly children = new Map<string, SupervisedInformer<KubernetesObject>>();
  private readonly controller: Controller<string>;
  private readonly events: EventRecorder;
  // A registry answer that came after its reconcile gave up waiting wakes the object.
  private readonly polls = new PollTracker({ wake: (key) => this.queue.add(key) });
  private readonly queue = new WorkQueue<string>({
    backoff: new ExponentialBackoff({ baseMs: 1000, maxMs: 300_000 }),
  });

  constructor(
    kc: KubeConfig,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly metrics: OperatorMetrics = new OperatorMetrics(),
  ) {
    const objects = kc.makeApiClient(CustomObjectsApi);
    const core = kc.makeApiClient(CoreV1Api);
    // Deployment and Job reads come from the informer caches below when they can.
    const apps = kc.makeApiClient(CachingAppsV1Api);
    const batch = kc.makeApiClient(CachingBatchV1Api);
    const readThrough: Record<string, CacheFeed> = { deployments: apps.deployments, jobs: batch.jobs };
    const ownWrites = new UnseenWrites();
    const informer = <T extends KubernetesObject>(
      name: string,
      path: string,
      wakes: (o: T) => string[],
      {
        labelSelector,
        ignoreStatusOnlyUpdates = false,
        keep,
        seen,
      }: {
        labelSelector?: string | undefined;
        ignoreStatusOnlyUpdates?: boolean;
        keep?: (o: KubernetesObject) => T;
        /** Told of every event the cache takes: read-your-writes trackers. */
        seen?: Pick<CacheFeed, 'observed'> | undefined;
      } = {},
    ) => {
      metrics.watchRestarts.inc({ informer: name }, 0); // the series exists from the start
      return new SupervisedInformer<T>({
        name,
        makeInformer: () => new Reflector<T>(kc, { path, labelSelector, transform: keep }),
        onObject: (obj) => wakes(obj).forEach((key) => this.queue.add(key)),
        ...(seen
          ? { onCached: (obj: T, event: 'add' | 'update' | 'delete') => seen.observed(obj, event) }
          : {}),
        resyncPeriodMs: config.resyncPeriodMs,
        watchdogMs: config.watchIdleTimeoutMs,
        log,
        onRestart: () => metrics.watchRestarts.inc({ informer: name }),
        ignoreStatusOnlyUpdates,
      });
    };
    const lookup: ModelDeploymentLookup = (namespace) => this.informerFor(namespace)?.list(namespace) ?? [];
    const namespaces = config.watchNamespaces.length > 0 ? config.watchNamespaces : [''];
    for (const ns of namespaces) {
      const at = (apiPath: string, plural: string) => `${apiPath}/${ns ? `namespaces/${ns}/` : ''}${plural}`;
      const named = (name: string) => `${name}${ns ? `/${ns}` : ''}`;
      this.mds.set(
        ns,
        informer<MD>(
          named(PLURAL),
          at(`/apis/${GROUP}/${VERSION}`, PLURAL),
          wakeSelf,
          // Our own status writes must not wake the object: the queue's backoff decides; they
          // are tracked for read-your-writes (ownWrites) all the same.
          { ignoreStatusOnlyUpdates: true, seen: ownWrites },
        ),
      );
      for (const watch of childWatches) {
        this.children.set(
          `${watch.name}/${ns}`,
          informer(named(watch.name), at(watch.apiPath, watch.plural), (obj) => watch.wakes(obj, lookup), {
            labelSelector: watch.labelSelector,
            keep: (obj) => watch.keep(obj, lookup),
            seen: readThrough[watch.name],
          }),
        );
      }
    }
    for (const [name, reads] of Object.entries(readThrough))
      reads.attach({
        get: (object, namespace) => this.childInformer(name, namespace)?.get(object, namespace),
      });
    this.events = new EventRecorder(core, config.fieldManager, log, {
      onDropped: (reason) => metrics.eventsDropped.inc({ reason }),
    });
    const aws = config.awsEndpoint ? { endpoint: config.awsEndpoint } : {};
    const ecr = new EcrRepositories(aws);
    const reconcile = makeReconciler({
      get: (key) => this.get(key),
      statusPatcher: new StatusPatcher(objects, config.fieldManager),
      ownWrites,
      modelDeployments: {
        patchMetadata: async (namespace, name, ops) =>
          (await objects.patchNamespacedCustomObject(
            {
              group: GROUP,
              version: VERSION,
              plural: PLURAL,
              namespace,
              name,
              body: ops,
              fieldManager: config.fieldManager,
            },
            setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
          )) as MD,
      },
      events: this.events,
      registryFor: makeRegistryFactory(core, (endpoint, outcome, seconds) => {
        metrics.mlflowRequests.observe({ endpoint, outcome }, seconds);
        if (outcome !== 'ok') metrics.mlflowErrors.inc({ endpoint, kind: outcome });
      }),
      metrics: {
        phase: (namespace, name, phase) => metrics.setPhase(namespace, name, phase),
        forget: (namespace, name) => metrics.forget(namespace, name),
        step: (step, result, seconds) => metrics.stepDuration.observe({ step, result }, seconds),
        rollback: (reason, result) => metrics.rollbacks.inc({ reason, result }),
        gate: (gate, result) => metrics.gateDecisions.inc({ gate, result }),
      },
      pipeline: {
        ecr,
        builders: {
          kaniko: new KanikoBuilder(batch, core),
          codebuild: new CodeBuildBuilder(ecr, aws),
        },
        apps,
        batch,
        core,
        prometheus: (address, query) => queryInstant(address, query, { timeoutMs: PROMETHEUS_TIMEOUT_MS }),
      },
      polls: this.polls,
      now: () => new Date(),
      fieldManager: config.fieldManager,
      log,
    });
    this.controller = new Controller({
      name: 'modeldeployment',
      queue: this.queue,
      reconcile,
      concurrency: config.maxConcurrentReconciles,
      log,
      observe: (result, seconds) => {
        metrics.reconciles.inc({ controller: 'modeldeployment', result });
        if (result === 'error') metrics.reconcileErrors.inc({ controller: 'modeldeployment' });
        metrics.reconcileDuration.observe({ controller: 'modeldeployment' }, seconds);
      },
    });
    metrics.queueLength = () => this.queue.length;
  }

  /** A verified webhook event: every ModelDeployment following `model` on `trackingUri` polls
   * MLflow anew at once. Returns how many were woken. */
  wakeFollowers(trackingUri: string, model: string): number {
    const all = [...this.mds.values()].flatMap((informer) => informer.list());
    const keys = followersOf(trackingUri, model, all);
    for (const key of keys) {
      this.polls.requests.expire(key);
      this.polls.forgetVerdict(key);
      this.queue.add(key);
    }
    return keys.length;
  }

  /** Ready once every ModelDeployment informer has listed (its cache is synced). */
  readiness(): string | null {
    const unsynced = [...this.mds.entries()]
      .filter(([, i]) => !i.hasSynced)
      .map(([ns]) => ns || '(all namespaces)');
    return unsynced.length > 0 ? `ModelDeployment informers not synced: ${unsynced.join(', ')}` : null;
  }

  async start(): Promise<void> {
    // ModelDeployments first: what the child caches keep depends on which Deployments they target.
    await Promise.all([...this.mds.values()].map((i) => i.start()));
    await Promise.all([...this.children.values()].map((i) => i.start()));
    this.controller.start();
    this.log.info(
      { namespaces: this.config.watchNamespaces, workers: this.config.maxConcurrentReconciles },
      'Started controller',
    );
  }

  /** Stops watching, then lets in-flight reconciles finish and their Events be written. */
  async stop(): Promise<void> {
    await Promise.all([...this.mds.values(), ...this.children.values()].map((i) => i.stop()));
    await this.controller.stop();
    await this.events.stop();
  }

  private get(key: string): MD | undefined {
    const { namespace, name } = splitKey(key);
    return this.informerFor(namespace)?.get(name, namespace);
  }

  /** The informer of a child watch for a namespace: its own, or the cluster-wide one. */
  private childInformer(watch: string, namespace: string | undefined) {
    return this.children.get(`${watch}/${namespace ?? ''}`) ?? this.children.get(`${watch}/`);
  }

  /** The ModelDeployment informer of a namespace: its own, or the cluster-wide one. */
  private informerFor(namespace: string): SupervisedInformer<MD> | undefined {
    return this.mds.get(namespace) ?? this.mds.get('');
  }
}
