// Chaos run: many pipeline runs while the operator is SIGKILLed at random instants (sometimes
// twice within a run, sometimes while it starts). Whatever the timing, every version must be
// built once, tested once, rolled once and filed once, and no run may get stuck.
// Reproduce a run with the seed it prints: CHAOS_SEED=<seed> npm run test:chaos
import { bed } from '../helpers/bed.js';
import { registryHost } from '../helpers/aws.js';
import { applyCrd, createNamespace, deleteNamespace, kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, type MdObject, requestReconcile } from '../helpers/modelDeployments.js';
import { OperatorProcess } from '../helpers/operatorProcess.js';
import { createServingDeployment } from '../helpers/serving.js';

const OBJECTS = Number(process.env.CHAOS_OBJECTS ?? 10);
const VERSIONS = Number(process.env.CHAOS_VERSIONS ?? 5);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000_007);
const RUN_DEADLINE_MS = 180_000;

const INSTANCE = 'app.kubernetes.io/instance';
const COMPONENT = 'app.kubernetes.io/component';
const VERSION = 'mlops.healthpredict.io/model-version';

/** mulberry32: a small seeded generator, so a failing schedule can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Labelled {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: { name: string }[] };
}
interface ReplicaSet extends Labelled {
  spec: { template: { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] } } };
}
interface RunRecord {
  md: string;
  version: string;
  startedAt: number;
  endedAt?: number;
  kills: number;
}

const list = async <T>(kind: string, ns: string, selector?: string): Promise<T[]> =>
  (
    JSON.parse(
      await kubectlOk(['-n', ns, 'get', kind, ...(selector ? ['-l', selector] : []), '-o', 'json']),
    ) as { items: T[] }
  ).items;

/** Keys seen more than once, with their counts. */
function duplicates(keys: string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return Object.fromEntries([...counts].filter(([, n]) => n > 1));
}

test(`chaos: ${OBJECTS} ModelDeployments x ${VERSIONS} versions with the operator SIGKILLed at random`, async () => {
  const random = rng(SEED);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min));
  console.log(`chaos seed ${SEED}: reproduce with CHAOS_SEED=${SEED} npm run test:chaos`);
  const began = Date.now();

  await applyCrd();
  const ns = await createNamespace('chaos');
  const operator = new OperatorProcess({ WATCH_NAMESPACES: ns, LOG_LEVEL: 'info' });
  const mlflow = new MlflowAdmin(bed.mlflowUri);
  const runs: RunRecord[] = [];
  let kills = 0;
  let doubleKills = 0;
  let killsWhileStarting = 0;
  /** In which phase the runs in flight were when a kill landed (as last polled). */
  const phasesHit = new Map<string, number>();
  try {
    const objects = await Promise.all(
      Array.from({ length: OBJECTS }, async (_, i) => {
        const md = `md-${i}`;
        const { name, version } = await mlflow.createChampion(`chaos${i}`);
        await createServingDeployment(ns, `api-${i}`, { replicas: 1 });
        return { md, model: name, first: version };
      }),
    );
    await operator.start();

    // The latest view of every ModelDeployment, read by one poller for all drivers.
    const seen = new Map<string, MdObject>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const md of await list<MdObject>('modeldeployments', ns).catch(() => []))
          seen.set(md.metadata.name, md);
        await sleep(1000);
      }
    })();
    const succeeded = (md: string, version: string) => {
      const s = seen.get(md)?.status;
      return s?.phase === 'Succeeded' && s.currentRun?.version === version;
    };

    // Each object: deploy v1, then promote one new version at a time once the last succeeded.
    const drivers = objects.map(async ({ md, model, first }, i) => {
      let version = first;
      for (let k = 1; k <= VERSIONS; k++) {
        if (k === 1) {
          await applyMd(ns, md, {
            model: { name: model, alias: 'champion', pollInterval: '10s' },
            registry: { trackingUri: bed.mlflowUri },
            image: { repository: `${registryHost}/chaos-${ns}-${i}` },
            build: {
              builder: 'kaniko',
              context: 'git://git.example/acme/serving.git',
              buildArgs: { TESTBED_BUILD_SECONDS: '3' },
            },
            deployment: { name: `api-${i}`, container: 'api', env: { STAGE: 'chaos' } },
            test: { image: 'registry.example/api-tests:1', env: { TESTBED_RUN_SECONDS: '2' } },
            historyLimit: 20,
          });
        } else {
          version = (await mlflow.createRunVersion(model)).version;
          await mlflow.waitUntilReady(model, version);
          await mlflow.setAlias(model, 'champion', version);
          await requestReconcile(ns, md).catch(() => undefined);
        }
        const run: RunRecord = { md, version, startedAt: Date.now(), kills: 0 };
        runs.push(run);
        while (!succeeded(md, version) && Date.now() - run.startedAt < RUN_DEADLINE_MS) await sleep(500);
        if (succeeded(md, version)) run.endedAt = Date.now();
      }
    });

    // The chaos: SIGKILL at random instants, sometimes again right after a restart, sometimes
    // before the new process is even ready.
    let driving = true;
    const kill = async () => {
      await operator.stop('SIGKILL');
      kills++;
      for (const r of runs) {
        if (r.endedAt !== undefined) continue;
        r.kills++;
        const phase = seen.get(r.md)?.status?.phase ?? 'none';
        phasesHit.set(phase, (phasesHit.get(phase) ?? 0) + 1);
      }
    };
    const chaos = (async () => {
      while (driving) {
        await sleep(between(1000, 7000));
        if (!driving) break;
        await kill();
        if (random() < 0.35) {
          await sleep(between(0, 1500));
          await operator.start().catch(() => undefined);
          await sleep(between(200, 3000));
          await kill();
          doubleKills++;
        }
        await sleep(between(0, 1500));
        if (random() < 0.25) {
          const starting = operator.start().catch(() => undefined);
          await sleep(between(100, 1500));
          await kill();
          await starting;
          killsWhileStarting++;
        }
        await operator.start();
      }
    })();

    await Promise.all(drivers);
    driving = false;
    await chaos;
    if (!operator.running) await operator.start();
    // Let a late duplicate (a Job created by a process that was killed mid-step) show up.
    await sleep(10_000);
    polling = false;
    await poller;

    // ---- the counts ----
    const jobs = await list<Labelled>('jobs', ns, 'app.kubernetes.io/managed-by=mlflow-model-operator');
    const jobKey = (j: Labelled, component: string) => {
      const l = j.metadata.labels ?? {};
      if (l[COMPONENT] !== component) return [];
      // A build for another build spec is not a duplicate; the hash ends the Job name.
      const hash = component === 'image-build' ? `/${j.metadata.name.split('-').at(-1)}` : '';
      return [`${l[INSTANCE]}/v${l[VERSION]}${hash}`];
    };
    const dupBuilds = duplicates(jobs.flatMap((j) => jobKey(j, 'image-build')));
    const dupTests = duplicates(jobs.flatMap((j) => jobKey(j, 'model-test')));
    const replicaSets = await list<ReplicaSet>('replicasets', ns);
    const rsVersions = replicaSets.flatMap((rs) => {
      const api = rs.spec.template.spec.containers.find((c) => c.name === 'api');
      const v = api?.env?.find((e) => e.name === 'MODEL_VERSION')?.value;
      return v ? [`${rs.metadata.ownerReferences?.[0]?.name}/v${v}`] : [];
    });
    const dupRevisions = duplicates(rsVersions);
    const mds = await list<MdObject>('modeldeployments', ns);
    const dupHistory = duplicates(
      mds.flatMap((md) =>
        (md.status?.history ?? []).map((h) => `${md.metadata.name}/v${h.version}/${h.specHash}`),
      ),
    );
    const finalVersion = new Map(runs.map((r) => [r.md, r.version]));
    const stuckRuns = runs.filter((r) => r.endedAt === undefined);
    const notFinal = mds.filter(
      (md) =>
        !(
          md.status?.phase === 'Succeeded' &&
          md.status.currentRun?.version === finalVersion.get(md.metadata.name)
        ),
    );
    const durations = runs.flatMap((r) => (r.endedAt ? [(r.endedAt - r.startedAt) / 1000] : []));
    durations.sort((a, b) => a - b);
    const pct = (p: number) => durations[Math.min(durations.length - 1, Math.floor(p * durations.length))];

    const summary = {
      seed: SEED,
      'pipeline runs': runs.length,
      'runs finished': durations.length,
      SIGKILLs: kills,
      'double kills (restart then kill again)': doubleKills,
      'kills before ready': killsWhileStarting,
      'runs with >= 1 kill': runs.filter((r) => r.kills >= 1).length,
      'runs with >= 2 kills': runs.filter((r) => r.kills >= 2).length,
      'kills x runs in flight, by phase': [...phasesHit].map(([p, n]) => `${p} ${n}`).join(', '),
      'build Jobs': jobs.filter((j) => j.metadata.labels?.[COMPONENT] === 'image-build').length,
      'test Jobs': jobs.filter((j) => j.metadata.labels?.[COMPONENT] === 'model-test').length,
      'duplicate build Jobs': Object.keys(dupBuilds).length,
      'duplicate test Jobs': Object.keys(dupTests).length,
      'duplicate Deployment revisions': Object.keys(dupRevisions).length,
      'duplicate history entries': Object.keys(dupHistory).length,
      'stuck runs': stuckRuns.length + notFinal.length,
      'run seconds p50 / p90 / max': `${pct(0.5)} / ${pct(0.9)} / ${durations.at(-1)}`,
      'wall seconds': Math.round((Date.now() - began) / 1000),
    };
    console.log(
      `chaos summary\n${Object.entries(summary)
        .map(([k, v]) => `  ${k.padEnd(42)} ${v}`)
        .join('\n')}\nreproduce: CHAOS_SEED=${SEED} npm run test:chaos`,
    );
    expect(runs.length).toBeGreaterThanOrEqual(OBJECTS * VERSIONS);
    expect({ dupBuilds, dupTests, dupRevisions, dupHistory }).toEqual({
      dupBuilds: {},
      dupTests: {},
      dupRevisions: {},
      dupHistory: {},
    });
    expect(stuckRuns.map((r) => `${r.md}/v${r.version}`)).toEqual([]);
    expect(
      notFinal.map((md) => `${md.metadata.name}: ${md.status?.phase} at ${md.status?.currentRun?.version}`),
    ).toEqual([]);
  } finally {
    await operator.stop('SIGKILL');
    if (!process.env.CHAOS_KEEP) await deleteNamespace(ns);
  }
}, 900_000);
