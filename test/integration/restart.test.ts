// The operator keeps its state in status: killed and restarted it carries on where the status
// says, follows changes made while it was down, and repeats no work (no second Event, no
// rewritten status) when nothing changed. SIGTERM stops it cleanly.
import { bed } from '../helpers/bed.js';
import { applyCrd, createNamespace, deleteNamespace } from '../helpers/kubectl.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, eventsFor, getMd, waitForMd } from '../helpers/modelDeployments.js';
import { OperatorProcess } from '../helpers/operatorProcess.js';

let ns: string;
let operator: OperatorProcess;
const mlflow = () => new MlflowAdmin(bed.mlflowUri);

beforeAll(async () => {
  await applyCrd();
  ns = await createNamespace('restart');
});
afterAll(async () => {
  await operator?.stop('SIGKILL');
  await deleteNamespace(ns);
});

test('SIGKILL, then a new process: status survives, nothing is redone, changes made meanwhile are picked up', async () => {
  const model = bed.modelName;
  await applyMd(ns, 'survivor', {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
  });
  operator = new OperatorProcess({ WATCH_NAMESPACES: ns });
  await operator.start();
  const v = await mlflow().versionByAlias(model, 'champion');
  const first = await waitForMd(
    ns,
    'survivor',
    `version ${v}`,
    (m) => m.status?.model?.version === v && m.status.phase === 'Succeeded',
  );
  expect(await operator.stop('SIGKILL')).toBeNull();

  // Same registry state: the new process re-polls once, finds the same version, writes nothing.
  operator = new OperatorProcess({ WATCH_NAMESPACES: ns });
  await operator.start();
  await new Promise((r) => setTimeout(r, 3000));
  const same = await getMd(ns, 'survivor');
  expect(same.status).toEqual(first.status);
  const newVersionEvents = (await eventsFor(ns, 'survivor')).filter((e) => e.reason === 'NewModelVersion');
  expect(newVersionEvents).toHaveLength(1);
  expect(newVersionEvents[0]?.count ?? 1).toBe(1);
  expect(await operator.stop('SIGKILL')).toBeNull();

  // Promoted while no operator runs: the next one follows.
  const next = await mlflow().copyVersion(model, v);
  await mlflow().setAlias(model, 'champion', next);
  operator = new OperatorProcess({ WATCH_NAMESPACES: ns });
  await operator.start();
  const followed = await waitForMd(
    ns,
    'survivor',
    `version ${next}`,
    (m) => m.status?.model?.version === next,
    30_000,
  );
  expect(followed.status?.phase).toBe('Succeeded');
});

test('SIGTERM shuts down gracefully with exit code 0', async () => {
  const proc = new OperatorProcess({ WATCH_NAMESPACES: ns });
  await proc.start();
  expect(await proc.stop('SIGTERM')).toBe(0);
  expect(proc.logged('Stopped')).toBe(true);
});
