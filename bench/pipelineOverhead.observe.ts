// Observing pipeline runs: three watches (Jobs, Deployments, ModelDeployments) in the bench's
// namespace turn the operator's work into timestamps (Marks) per run. A run settles once its
// ModelDeployment Succeeded and every step was seen, or fails with what was seen.
import type { KubeConfig, V1Deployment, V1Job } from '@kubernetes/client-node';
import { GROUP, type ModelDeploymentStatus, PLURAL, VERSION } from '../src/api/v1alpha1/modelDeployment.js';
import { judgeRollout } from '../src/controller/policies/judgeRollout.js';
import { registryHost } from '../test/helpers/aws.js';
import {
  BenchError,
  figures,
  jobStep,
  type Marks,
  type MeasuredRun,
  missingSteps,
  seconds,
  stepsSeen,
  stuckConditions,
  trueCondition,
} from './pipelineOverhead.lib.js';
import { ResumingWatch, type KubeObject, type WatchFacts } from './resumingWatch.js';

const RUN_TIMEOUT_MS = 120_000;
const MARKS_GRACE_MS = 5_000; // a Job/Deployment event may trail the MD's Succeeded event a little

/** kubectl rollout status's rules, as the operator judges them. */
const rolledOut = (d: V1Deployment) => judgeRollout(d).kind === 'done';

/** One pipeline run: its objects' names, the model version it deploys and what was seen. */
export class Run {
  readonly md: string;
  readonly deployment: string;
  readonly model: string;
  readonly repository: string;
  readonly marks: Marks = {};
  readonly notes: string[] = [];
  /** The Job of each step; a second one is noted, not measured. */
  readonly jobs: { build?: string; test?: string } = {};
  modelVersion: string | undefined;
  /** The serving Deployment's generation before the run, and the one the operator's patch made. */
  baseGeneration: number | undefined;
  /** containersKey of the pod template before the run: the claim annotation moves the
   * generation too, without changing the containers. */
  baseTemplate: string | undefined;
  rolloutGeneration: number | undefined;
  applyRtt = 0;
  lastStatus: ModelDeploymentStatus | undefined;
  readonly done: Promise<Run>;
  private resolve!: (r: Run) => void;
  private reject!: (e: Error) => void;
  private settled = false;
  private graceTimer: NodeJS.Timeout | undefined;
  private timeoutTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly label: string,
    unique: string,
    readonly measured: boolean,
  ) {
    this.md = `md-${label}`;
    this.deployment = `api-${label}`;
    this.model = `bench-${label}-${unique}`;
    this.repository = `${registryHost}/bench-${label}-${unique}`;
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => undefined); // observed through races
  }

  describe(): string {
    return `${this.measured ? 'run' : 'warm-up run'} ${this.label} (ModelDeployment ${this.md})`;
  }

  /** Seconds from the apply to Succeeded, for progress lines. */
  elapsed(): string {
    return seconds((this.marks.succeeded ?? NaN) - (this.marks.applied ?? NaN));
  }

  applied(t: number): void {
    this.marks.applied = t;
    this.timeoutTimer = setTimeout(() => {
      const s = this.lastStatus;
      const why = stuckConditions(s?.conditions);
      this.fail(
        `${this.describe()} did not reach Succeeded within ${RUN_TIMEOUT_MS / 1000} s; ` +
          `last phase: ${s?.phase ?? 'none seen'}; steps seen: ${stepsSeen(this.marks)}` +
          (why ? `; conditions: ${why}` : ''),
      );
    }, RUN_TIMEOUT_MS);
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  /** Called after every event for this run. */
  check(): void {
    if (this.settled || this.marks.succeeded === undefined) return;
    const missing = missingSteps(this.marks);
    if (missing.length === 0) {
      this.settle();
      this.resolve(this);
    } else if (!this.graceTimer) {
      this.graceTimer = setTimeout(() => {
        this.fail(
          `${this.describe()} reached Succeeded but these steps were never observed: ` +
            `${missing.join(', ')} (seen: ${stepsSeen(this.marks)})`,
        );
      }, MARKS_GRACE_MS);
    }
  }

  fail(message: string): void {
    if (this.settled) return;
    this.settle();
    this.reject(new BenchError(message));
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.graceTimer);
    clearTimeout(this.timeoutTimer);
  }

  /** The figures of a run that settled (every mark is set then). */
  result(): MeasuredRun {
    return {
      label: this.label,
      figures: figures(this.marks as Required<Marks>, this.applyRtt),
      notes: this.notes,
    };
  }
}

/** Routes the namespace's watch events to the runs they belong to. */
export class Observer {
  private readonly byMd = new Map<string, Run>();
  private readonly byDeployment = new Map<string, Run>();
  private watches: ResumingWatch[] = [];

  constructor(
    private readonly namespace: string,
    runs: readonly Run[],
  ) {
    for (const run of runs) {
      this.byMd.set(run.md, run);
      this.byDeployment.set(run.deployment, run);
    }
  }

  async start(kc: KubeConfig): Promise<void> {
    const ns = this.namespace;
    this.watches = [
      new ResumingWatch(kc, `/apis/batch/v1/namespaces/${ns}/jobs`, (type, o, t) =>
        this.onJob(type, o as V1Job, t),
      ),
      new ResumingWatch(kc, `/apis/apps/v1/namespaces/${ns}/deployments`, (type, o, t) =>
        this.onDeployment(type, o as V1Deployment, t),
      ),
      new ResumingWatch(kc, `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`, (type, o, t) =>
        this.onMd(type, o as KubeObject & { status?: ModelDeploymentStatus }, t),
      ),
    ];
    await Promise.all(this.watches.map((w) => w.start()));
  }

  stop(): void {
    for (const w of this.watches) w.stop();
  }

  facts(): WatchFacts[] {
    return this.watches.map((w) => ({ ...w.facts }));
  }

  private onJob(type: string, job: V1Job, t: number): void {
    const js = jobStep(job.metadata?.labels);
    const run = js && this.byMd.get(js.md);
    if (!js || !run || type === 'DELETED' || run.marks.applied === undefined) return;
    const { step, seen, done } = js;
    const name = job.metadata?.name ?? '';
    if (run.jobs[step] !== undefined && run.jobs[step] !== name) {
      run.note(`second ${step} Job ${name}`);
      return;
    }
    run.jobs[step] = name;
    run.marks[seen] ??= t;
    if (run.marks[done] === undefined && trueCondition(job, 'Complete')) run.marks[done] = t;
    const failed = trueCondition(job, 'Failed');
    if (failed)
      run.fail(`${run.describe()}: ${step} Job ${name} failed: ${failed.reason}: ${failed.message ?? ''}`);
    run.check();
  }

  private onDeployment(type: string, d: V1Deployment, t: number): void {
    const run = this.byDeployment.get(d.metadata?.name ?? '');
    if (!run || type === 'DELETED' || run.baseGeneration === undefined || run.marks.applied === undefined)
      return;
    const generation = d.metadata?.generation ?? 0;
    const templateChanged = containersKey(d.spec?.template) !== run.baseTemplate;
    if (run.marks.rolloutStart === undefined && generation > run.baseGeneration && templateChanged) {
      run.marks.rolloutStart = t; // the operator's patch
      run.rolloutGeneration = generation;
    } else if (run.rolloutGeneration !== undefined && generation > run.rolloutGeneration) {
      run.note(`Deployment ${run.deployment} changed again (generation ${generation})`);
    }
    if (run.marks.rolloutStart !== undefined && run.marks.rolloutDone === undefined && rolledOut(d))
      run.marks.rolloutDone = t;
    run.check();
  }

  private onMd(type: string, md: KubeObject & { status?: ModelDeploymentStatus }, t: number): void {
    const run = this.byMd.get(md.metadata?.name ?? '');
    if (!run || type === 'DELETED') return;
    run.lastStatus = md.status;
    const phase = md.status?.phase;
    if (
      phase === 'Succeeded' &&
      run.marks.succeeded === undefined &&
      md.status?.currentRun?.version === run.modelVersion
    )
      run.marks.succeeded = t;
    if (phase === 'Failed') {
      const c = trueCondition(md, 'Stalled');
      run.fail(`${run.describe()} failed: ${c?.reason ?? ''}: ${c?.message ?? ''}`);
    }
    run.check();
  }
}

/** The containers' names, images and env values: what the operator's rollout patch changes. */
export function containersKey(
  template:
    | { spec?: { containers: { name: string; image?: string; env?: { name: string; value?: string }[] }[] } }
    | undefined,
): string {
  return JSON.stringify(
    (template?.spec?.containers ?? []).map((c) => [
      c.name,
      c.image,
      (c.env ?? []).map((e) => [e.name, e.value ?? '']),
    ]),
  );
}
