// Prometheus metrics of the operator, in one registry. Components get small callbacks, not the
// registry, so the runtime and the clients stay free of prom-client.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Phase } from './api/v1alpha1/modelDeployment.js';

const PREFIX = 'mlflow_operator_';

export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconciles = new Counter({
    name: `${PREFIX}reconcile_total`,
    help: 'Reconciles by controller and result (success, requeue, error).',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: `${PREFIX}reconcile_errors_total`,
    help: 'Reconciles that failed and were retried with backoff.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: `${PREFIX}reconcile_duration_seconds`,
    help: 'Time one reconcile took.',
    labelNames: ['controller'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  /** Read at scrape time; the operator points it at its work queue. */
  queueLength: () => number = () => 0;
  readonly queueDepth: Gauge<'controller'> = new Gauge({
    name: `${PREFIX}workqueue_depth`,
    help: 'Keys waiting in the work queue.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
    collect: (): void => this.queueDepth.set({ controller: 'modeldeployment' }, this.queueLength()),
  });
  /** Read at scrape time; main points it at the leader elector. */
  leading: () => boolean = () => true;
  readonly leader: Gauge = new Gauge({
    name: `${PREFIX}leader`,
    help: '1 while this replica leads (or runs without leader election), 0 while it stands by.',
    registers: [this.registry],
    collect: (): void => this.leader.set(this.leading() ? 1 : 0),
  });
  readonly watchRestarts = new Counter({
    name: `${PREFIX}watch_restarts_total`,
    help: 'Informer restarts after watch or list errors, or a silent watch.',
    labelNames: ['informer'] as const,
    registers: [this.registry],
  });
  readonly phase = new Gauge({
    name: `${PREFIX}modeldeployment_phase`,
    help: 'Phase of each ModelDeployment: one series per object, 1 with its current phase as a label.',
    labelNames: ['namespace', 'name', 'phase'] as const,
    registers: [this.registry],
  });
  /** The phase each object's series carries now, so a change replaces the series. */
  private readonly phases = new Map<string, Phase>();
  readonly stepDuration = new Histogram({
    name: `${PREFIX}pipeline_step_duration_seconds`,
    help: 'Duration of finished pipeline steps (build, rollout, test), from start to result.',
    labelNames: ['step', 'result'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600],
    registers: [this.registry],
  });
  readonly rollbacks = new Counter({
    name: `${PREFIX}rollbacks_total`,
    help: 'Finished rollbacks of failed runs, by why the run failed and whether the rollback succeeded.',
    labelNames: ['reason', 'result'] as const,
    registers: [this.registry],
  });
  readonly gateDecisions = new Counter({
    name: `${PREFIX}gate_decisions_total`,
    help: 'Decisions of the pipeline gates: metrics (passed, failed), scan (passed, failed, allowed) and approval (approved).',
    labelNames: ['gate', 'result'] as const,
    registers: [this.registry],
  });
  readonly mlflowRequests = new Histogram({
    name: `${PREFIX}mlflow_request_duration_seconds`,
    help: 'MLflow registry requests by endpoint and outcome (ok or the error kind).',
    labelNames: ['endpoint', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly mlflowErrors = new Counter({
    name: `${PREFIX}mlflow_request_errors_total`,
    help: 'MLflow registry requests that failed, by error kind.',
    labelNames: ['endpoint', 'kind'] as const,
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Counter({
    name: `${PREFIX}webhook_deliveries_total`,
    help: 'MLflow webhook requests by source and outcome (accepted, duplicate, unauthorized, …).',
    labelNames: ['source', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly eventsDropped = new Counter({
    name: `${PREFIX}events_dropped_total`,
    help: 'Kubernetes Events not recorded: spam (too many for one object) or queue-full.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  // One series per object, not one per phase: 1,000 objects are 1,000 series, not 13,000.
  setPhase(namespace: string, name: string, current: Phase | undefined): void {
    const key = JSON.stringify([namespace, name]);
    const before = this.phases.get(key);
    if (before === current) return;
    if (before !== undefined) this.phase.remove({ namespace, name, phase: before });
    if (current === undefined) {
      this.phases.delete(key);
      return;
    }
    this.phases.set(key, current);
    this.phase.set({ namespace, name, phase: current }, 1);
  }

  forget(namespace: string, name: string): void {
    this.setPhase(namespace, name, undefined);
  }
}
