// The one place the reconciler tests build makeReconciler's deps: the churn ModelDeployment in an
// in-memory store, the fakes of reconcilerFakes.ts, and the pipeline fakes (ECR, builders,
// Deployments, Jobs). A change to ReconcilerDeps is made here and nowhere else.
import type { AppsV1Api, BatchV1Api, CoreV1Api, V1Deployment } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { z } from 'zod';
import {
  ModelDeploymentSpecStrictSchema,
  type ModelDeployment,
  type ModelDeploymentSpecSchema,
  type ModelDeploymentStatus,
} from '../../../src/api/v1alpha1/modelDeployment.js';
import { imageBuildHash } from '../../../src/builders/builder.js';
import { KanikoBuilder } from '../../../src/builders/kaniko.js';
import type { EcrRepositories } from '../../../src/clients/ecr.js';
import {
  newContext,
  PollTracker,
  type PipelineDeps,
  type ReconcileContext,
  type ReconcilerDeps,
} from '../../../src/controller/context.js';
import { makeReconciler } from '../../../src/controller/reconciler.js';
import { FakeBuilder } from './fakeBuilder.js';
import { FakeApps, servingDeployment } from './fakeDeployments.js';
import { FakeEcr } from './fakeEcr.js';
import { applyJsonPatch, type JsonPatchOp } from './jsonPatch.js';
import { FakeBatch } from './fakeJobs.js';
import { DIGEST_A, NS, REPO, modelDeployment, pipelineMd, pipelineSpec } from './pipelineFixtures.js';
import {
  FakeRegistry,
  apiError,
  fakeStatusPatcher,
  recordingEvents,
  type RecordedEvent,
  type StatusWrite,
} from './reconcilerFakes.js';

export const KEY = 'ml/churn';
export const INTERVAL_MS = 60_000;
export const START = Date.parse('2025-01-01T00:00:00.000Z');
export const FIELD_MANAGER = 'test-operator';
/** The build hash of the default pipeline spec's build. */
export const BUILD_HASH = imageBuildHash(pipelineMd().spec.build!);
/** The image tag of the registry's default answer: v{version}-{runIdShort}-{buildHash} of
 * version 3, run-3 and the default build. */
export const TAG = `v3-run-3-${BUILD_HASH}`;
export const REF_A = `${REPO}@${DIGEST_A}`;

export interface HarnessOptions {
  /** The object to reconcile; by default the whole pipeline (pipelineSpec with `spec` merged in). */
  md?: ModelDeployment;
  /** Replaces parts of the default pipeline spec (image, build, deployment, test). */
  spec?: Record<string, unknown>;
  /** The serving Deployment in the fake store; null for none. */
  deployment?: V1Deployment | null;
  /** Use the real KanikoBuilder over the fake Job store instead of a FakeBuilder. */
  realKaniko?: boolean;
  /** Read-your-writes for the object's own status, as the operator wires it. */
  ownWrites?: ReconcilerDeps['ownWrites'];
}

export type Harness = ReturnType<typeof setupReconciler>;

/** A spec as a user writes it: fields with defaults may be left out. */
type UserSpec = z.input<typeof ModelDeploymentSpecSchema>;

export function setupReconciler(opts: HarnessOptions = {}) {
  const store = new Map<string, ModelDeployment>([
    [KEY, opts.md ?? modelDeployment(pipelineSpec(opts.spec))],
  ]);
  const registry = new FakeRegistry();
  const clock = { ms: START };
  const events: RecordedEvent[] = [];
  const writes: StatusWrite[] = [];
  const steps: string[] = [];
  const polls = new PollTracker({ now: () => clock.ms });
  let registryLookups = 0;
  let conflicts = 0;
  let patchError: unknown;

  const ecr = new FakeEcr();
  /** What the fake Prometheus answers, in order; and the queries it was asked. */
  const prometheusAnswers: (number | undefined | Error)[] = [];
  const prometheusQueries: string[] = [];
  const apps = new FakeApps();
  const batch = new FakeBatch();
  const kaniko = new FakeBuilder('kaniko');
  const codebuild = new FakeBuilder('codebuild');
  if (opts.deployment !== null)
    apps.deployments.set(`${NS}/churn-api`, opts.deployment ?? servingDeployment());
  const pipeline: PipelineDeps = {
    ecr: ecr as unknown as EcrRepositories,
    builders: {
      kaniko: opts.realKaniko
        ? new KanikoBuilder(batch as unknown as BatchV1Api, batch as unknown as CoreV1Api)
        : kaniko,
      codebuild,
    },
    apps: apps as unknown as AppsV1Api,
    batch: batch as unknown as BatchV1Api,
    core: batch as unknown as CoreV1Api,
    prometheus: async (address, query) => {
      prometheusQueries.push(`${address} ${query}`);
      const answer = prometheusAnswers.shift();
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };

  const deps: ReconcilerDeps = {
    get: (key) => store.get(key),
    registryFor: async () => {
      registryLookups++;
      return registry;
    },
    pipeline,
    polls,
    metrics: {
      phase: () => undefined,
      forget: () => undefined,
      step: (step, result) => steps.push(`${step} ${result}`),
      rollback: (reason, result) => steps.push(`rollback ${reason} ${result}`),
      gate: (gate, result) => steps.push(`gate ${gate} ${result}`),
    },
    now: () => new Date(clock.ms),
    fieldManager: FIELD_MANAGER,
    log: pino({ level: 'silent' }),
    ...(opts.ownWrites ? { ownWrites: opts.ownWrites } : {}),
    statusPatcher: fakeStatusPatcher(store, {
      before: () => {
        if (conflicts > 0) {
          conflicts--;
          throw apiError(
            409,
            'the object has been modified; please apply your changes to the latest version',
          );
        }
        if (patchError) throw patchError;
      },
      onWrite: (w) => writes.push(w),
    }),
    events: recordingEvents(events),
    modelDeployments: {
      patchMetadata: async (namespace, name, ops) => {
        const key = `${namespace}/${name}`;
        const current = store.get(key);
        if (!current) throw apiError(404);
        const next = applyJsonPatch(current, ops as JsonPatchOp[]);
        next.metadata.resourceVersion = String(Number(current.metadata.resourceVersion ?? 0) + 1);
        store.set(key, next);
        return structuredClone(next);
      },
    },
  };
  const reconcile = makeReconciler(deps);

  const md = () => store.get(KEY) as ModelDeployment;
  const status = (): ModelDeploymentStatus => store.get(KEY)?.status ?? {};
  return {
    reconcile: () => reconcile(KEY),
    /** A context for calling one step directly, as the reconciler would build it. */
    stepContext: (status: ModelDeploymentStatus = {}): ReconcileContext => {
      const ctx = newContext(deps, KEY, md());
      return {
        ...ctx,
        spec: ModelDeploymentSpecStrictSchema.parse(ctx.md.spec),
        status: structuredClone(status),
      };
    },
    md,
    status,
    store,
    registry,
    clock,
    writes,
    events,
    eventReasons: () => events.map((e) => e.reason),
    polls,
    /** Finished steps as metrics saw them. */
    steps,
    registryLookups: () => registryLookups,
    ecr,
    apps,
    batch,
    prometheusAnswers,
    prometheusQueries,
    kaniko,
    codebuild,
    /** Every status write from now on fails with `err`. */
    failPatchWith: (err: unknown) => (patchError = err),
    /** The next status write loses to someone else's (409), as after a concurrent update. */
    conflictNextWrite: () => (conflicts = 1),
    annotate: (key: string, value: string) => {
      md().metadata.annotations = { ...md().metadata.annotations, [key]: value };
    },
    /** A user edit of the spec: the apiserver bumps the generation. */
    editSpec: (edit: (spec: UserSpec) => void) => {
      const current = md();
      edit(current.spec);
      current.metadata.generation = (current.metadata.generation ?? 0) + 1;
      current.metadata.resourceVersion = String(Number(current.metadata.resourceVersion) + 1);
    },
    /** Past the poll interval: the next reconcile asks the registry again. */
    nextPoll: () => (clock.ms += INTERVAL_MS * 2),
    /** The test Job of the current run. */
    testJobName: () => status().testJob as string,
  };
}

/** From a fresh object through a finished rollout, reusing an image already in ECR. */
export async function deployAndRollOut(t: Harness): Promise<void> {
  t.ecr.push(TAG, DIGEST_A);
  await t.reconcile(); // reuse + patch
  t.apps.setRolledOut();
  await t.reconcile(); // rolled out → test Job created, if the spec has tests
}
