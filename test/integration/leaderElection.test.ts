// Replicas of the operator, as separate processes against the bed's kube-apiserver, elect one
// leader on a Lease: only the leader reconciles; a SIGKILLed leader is replaced once its lease
// expires (and no sooner), and the new leader carries on; a SIGTERMed leader hands the Lease
// over at once.
import { request } from 'undici';
import { bed } from '../helpers/bed.js';
import { applyCrd, createNamespace, deleteNamespace, kubectlOk } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, waitForMd } from '../helpers/modelDeployments.js';
import { OperatorProcess, servedPorts } from '../helpers/operatorProcess.js';
import { waitFor } from '../helpers/wait.js';

const LEASE = 'mlflow-model-operator-leader';
const LEASE_MS = 4000;
const RETRY_MS = 1000;
const mlflow = () => new MlflowAdmin(bed.mlflowUri);

let ns: string;
const replicas: OperatorProcess[] = [];

beforeAll(async () => {
  await applyCrd();
  ns = await createNamespace('leader');
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
  await deleteNamespace(ns);
});

function replica(podName: string, timings = { LEASE_DURATION: '4s', RENEW_DEADLINE: '3s' }): OperatorProcess {
  const r = new OperatorProcess(
    {
      WATCH_NAMESPACES: ns,
      LEADER_ELECT: 'true',
      LEADER_ELECTION_NAMESPACE: ns,
      RETRY_PERIOD: '1s',
      POD_NAME: podName,
      ...timings,
    },
    { readyLog: 'Attempting to acquire leader lease' },
  );
  replicas.push(r);
  return r;
}

interface Lease {
  spec: { holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number };
}
const getLease = async (): Promise<Lease> =>
  JSON.parse(await kubectlOk(['-n', ns, 'get', 'lease', LEASE, '-o', 'json'])) as Lease;

/** The identity a replica logged when it became leader, and when (its log's epoch ms). */
function leadership(r: OperatorProcess): { identity: string; time: number } | undefined {
  const entry = r.entries('Became leader')[0];
  return entry ? { identity: entry.identity as string, time: entry.time as number } : undefined;
}

/** The replica's own view, as Prometheus scrapes it. */
async function leaderGauge(r: OperatorProcess): Promise<string | undefined> {
  const res = await request(`http://127.0.0.1:${servedPorts(r).metrics}/metrics`);
  return (await res.body.text()).match(/^mlflow_operator_leader (\d)$/m)?.[1];
}

const becomesLeader = (r: OperatorProcess, timeoutMs: number) =>
  waitFor('a replica to become leader', async () => leadership(r), { timeoutMs, intervalMs: 50 });

const reconciled = (r: OperatorProcess) =>
  r.logged('Started controller') || r.logged('Polling MLflow') || r.logged('Resolved new model version');

let a: OperatorProcess;
let b: OperatorProcess;
let leader: OperatorProcess;
let standby: OperatorProcess;

test('of two replicas exactly one leads, and only the leader reconciles', async () => {
  a = replica('replica-a');
  b = replica('replica-b');
  await Promise.all([a.start(), b.start()]);
  await waitFor('a leader', async () => leadership(a) ?? leadership(b), { timeoutMs: 15_000 });
  [leader, standby] = leadership(a) ? [a, b] : [b, a];

  const model = bed.modelName;
  const version = await mlflow().versionByAlias(model, 'champion');
  await applyMd(ns, 'elected', {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
  });
  await waitForMd(
    ns,
    'elected',
    `Ready at version ${version}`,
    (m) => m.status?.model?.version === version && m.status.phase === 'Succeeded',
  );
  // Several lease durations went by: the standby never took over nor reconciled anything.
  await new Promise((r) => setTimeout(r, 2 * LEASE_MS));

  const identity = leadership(leader)?.identity as string;
  expect(identity).toMatch(/^replica-[ab]_[0-9a-f-]{36}$/);
  expect(leader.logged('Started controller')).toBe(true);
  expect(leader.entries('Resolved new model version')).toEqual([expect.objectContaining({ version })]);
  expect(leadership(standby)).toBeUndefined();
  expect(reconciled(standby)).toBe(false);
  expect(leader.running && standby.running).toBe(true);
  expect([await leaderGauge(leader), await leaderGauge(standby)]).toEqual(['1', '0']);
  expect((await getLease()).spec).toMatchObject({
    holderIdentity: identity,
    leaseDurationSeconds: 4,
    leaseTransitions: 0,
  });
});

test('SIGKILL of the leader: the standby takes over once the lease expired, and keeps reconciling', async () => {
  const before = (await getLease()).spec;
  const killedAt = Date.now();
  expect(await leader.stop('SIGKILL')).toBeNull();

  const took = await becomesLeader(standby, 20_000);
  const failoverMs = took.time - killedAt;
  process.stdout.write(`leader election: failover after SIGKILL took ${failoverMs} ms\n`);
  // Not before the lease could have expired: the record last changed about one retry period
  // before the kill, and the standby waits a full lease duration from when it saw that change.
  expect(failoverMs).toBeGreaterThanOrEqual(LEASE_MS - 1.5 * RETRY_MS);
  // At most: the change seen up to one jittered retry late (2.2 s), the lease duration, and one
  // more jittered retry; plus a second of slack for the bed.
  expect(failoverMs).toBeLessThan(LEASE_MS + 2 * 2.2 * RETRY_MS + 1000);
  await waitFor('the Lease to name the new leader', async () => {
    const spec = (await getLease()).spec;
    return spec.holderIdentity === took.identity ? spec : undefined;
  });
  expect((await getLease()).spec.leaseTransitions).toBe((before.leaseTransitions ?? 0) + 1);
  expect(before.holderIdentity).not.toBe(took.identity);
  expect(standby.logged('Started controller')).toBe(true);
  expect(await leaderGauge(standby)).toBe('1');

  // The new leader follows a promotion in MLflow.
  const model = bed.modelName;
  const current = await mlflow().versionByAlias(model, 'champion');
  const promoted = await mlflow().copyVersion(model, current);
  await mlflow().setAlias(model, 'champion', promoted);
  const md = await waitForMd(
    ns,
    'elected',
    `version ${promoted}`,
    (m) => m.status?.model?.version === promoted,
    30_000,
  );
  expect(md.status?.phase).toBe('Succeeded');
  expect(standby.entries('Resolved new model version')).toEqual(
    expect.arrayContaining([expect.objectContaining({ version: promoted })]),
  );
});

test('SIGTERM of the leader releases the Lease: another replica takes over well before it would expire', async () => {
  // The leader from the last test stops with nobody waiting: it leaves the Lease free.
  const released = standby;
  expect(await released.stop('SIGTERM')).toBe(0);
  expect((await getLease()).spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });

  // Replicas with a long lease: taking over by expiry would take at least 12 s.
  const long = { LEASE_DURATION: '15s', RENEW_DEADLINE: '10s' };
  const c = replica('replica-c', long);
  const d = replica('replica-d', long);
  const startedAt = Date.now();
  await Promise.all([c.start(), d.start()]);
  const first = await waitFor('a leader', async () => leadership(c) ?? leadership(d), { timeoutMs: 10_000 });
  expect(first.time - startedAt).toBeLessThan(5000); // the released Lease was free at once
  const [cLeads, transitions] = [leadership(c) !== undefined, (await getLease()).spec.leaseTransitions];
  const [next, waiting] = cLeads ? [c, d] : [d, c];
  await waitForMd(ns, 'elected', 'Ready', (m) => m.status?.phase === 'Succeeded');
  await new Promise((r) => setTimeout(r, 2 * RETRY_MS)); // the waiting replica has read the Lease

  const termAt = Date.now();
  expect(await next.stop('SIGTERM')).toBe(0);
  const took = await becomesLeader(waiting, 10_000);
  const handoverMs = took.time - termAt;
  process.stdout.write(`leader election: handover after SIGTERM took ${handoverMs} ms\n`);
  // One jittered retry period (≤ 2.2 s) plus the drain, against ≥ 12 s by expiry.
  expect(handoverMs).toBeLessThan(4000);
  expect((await getLease()).spec).toMatchObject({
    holderIdentity: took.identity,
    leaseDurationSeconds: 15,
    leaseTransitions: (transitions ?? 0) + 1,
  });
  expect(waiting.logged('Started controller')).toBe(true);
});
