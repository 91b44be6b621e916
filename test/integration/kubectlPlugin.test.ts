// The kubectl plugin as users run it: `kubectl modeldeployment …` through the bed's kubectl, which
// finds the built plugin (dist/, from `npm run build`) on PATH through a shim, as npm's bin link
// would put it there. Against the operator, MLflow and a serving Deployment on kwok's node.
//
// A resolve-only ModelDeployment starts no deployment run (no status.currentRun, no history), so
// the views of runs are checked on a builder-none pipeline, which runs in seconds on kwok.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { APPROVE_ANNOTATION, RETRY_ANNOTATION } from '../../src/api/v1alpha1/modelDeployment.js';
import { bed } from '../helpers/bed.js';
import { MlflowAdmin } from '../helpers/mlflowAdmin.js';
import { applyMd, getMd, requestReconcile, succeededAt, waitForMd } from '../helpers/modelDeployments.js';
import { operatorInNamespace } from '../helpers/operatorInNamespace.js';
import { createServingDeployment } from '../helpers/serving.js';
import { waitFor } from '../helpers/wait.js';

const env = operatorInNamespace('plugin');
const mlflow = () => new MlflowAdmin(bed.mlflowUri);
const PLUGIN = resolve('dist/cli/kubectlModeldeployment.js');
let shimDir = '';

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

beforeAll(() => {
  if (!existsSync(PLUGIN)) throw new Error(`${PLUGIN} is missing: run \`npm run build\` first`);
  // What `npm i -g` links onto PATH, pointed at this checkout's build and this test's node.
  shimDir = mkdtempSync(join(tmpdir(), 'kubectl-plugin-'));
  const shim = join(shimDir, 'kubectl-modeldeployment');
  writeFileSync(shim, `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(PLUGIN)} "$@"\n`);
  chmodSync(shim, 0o755);
});
afterAll(() => rmSync(shimDir, { recursive: true, force: true }));

/** `kubectl modeldeployment ARGS…` with the shim first on PATH. kubectl takes no global flags
 * before a plugin's name, so the bed's kubeconfig comes through KUBECONFIG. */
function startPlugin(args: string[]): { child: ChildProcess; out: { stdout: string; stderr: string } } {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${shimDir}${delimiter}${process.env.PATH ?? ''}`,
    KUBECONFIG: bed.kubeconfig,
  };
  delete childEnv.NODE_OPTIONS; // jest's ESM switch, not the plugin's
  const child = spawn(bed.kubectl, ['modeldeployment', ...args], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout?.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out.stderr += d.toString()));
  return { child, out };
}

function plugin(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { child, out } = startPlugin(args);
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => done({ code, ...out }));
  });
}

const line = (field: string, value: string) => new RegExp(`^${field}:\\s+${value}$`, 'm');
/** History table rows as their cells (the message column, last, may hold blanks: not read). */
const rows = (table: string) =>
  table
    .trim()
    .split('\n')
    .slice(1)
    .map((r) => r.split(/\s{2,}/));

/** A model of its own, version 1 behind champion, deployed by a builder-none pipeline. */
async function served(name: string) {
  const model = await mlflow().createChampion(`plugin-${name}`);
  await createServingDeployment(env.ns, `api-${name}`);
  await applyMd(env.ns, name, {
    model: { name: model.name, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
    build: { builder: 'none' },
    deployment: { name: `api-${name}`, container: 'api' },
  });
  await waitForMd(env.ns, name, `version ${model.version} deployed`, succeededAt(model.version), 90_000);
  return model;
}

test('get and history show a deployed version, its steps and its run', async () => {
  const { version } = await served('shown');

  const got = await plugin('get', 'shown', '-n', env.ns);
  expect(got).toMatchObject({ code: 0, stderr: '' });
  expect(got.stdout).toMatch(line('Name', 'shown'));
  expect(got.stdout).toMatch(line('Namespace', env.ns));
  expect(got.stdout).toMatch(line('Phase', '✔ Succeeded'));
  expect(got.stdout).toMatch(line('Version', version));
  expect(got.stdout).toMatch(
    new RegExp(`^Serving:\\s+${version}\\s+since \\S+ ago\\s+registry\\.example/api:bootstrap$`, 'm'),
  );
  expect(got.stdout).toMatch(line('Stable', `${version}\\s+since \\S+ ago`));
  expect(got.stdout).toMatch(/^ {2}✔ Build\s+NoBuild\s/m);
  expect(got.stdout).toMatch(/^ {2}✔ Deploy\s+RolledOut\s/m);
  expect(got.stdout).not.toContain('✖');

  const history = await plugin('history', 'shown', `--namespace=${env.ns}`);
  expect(history).toMatchObject({ code: 0, stderr: '' });
  expect(history.stdout.split('\n')[0]?.split(/\s+/)).toEqual([
    'VERSION',
    'RESULT',
    'REASON',
    'STARTED',
    'FINISHED',
    'IMAGE',
    'MESSAGE',
  ]);
  const ago = expect.stringMatching(/ ago$/);
  expect(rows(history.stdout)).toEqual([[version, 'Succeeded', '-', ago, ago, 'api:bootstrap']]);
});

test('a resolve-only object: Succeeded with its version, and no runs to list', async () => {
  const { name: model, version } = await mlflow().createChampion('plugin-resolved');
  await applyMd(env.ns, 'resolved', {
    model: { name: model, alias: 'champion', pollInterval: '10s' },
    registry: { trackingUri: bed.mlflowUri },
  });
  await waitForMd(
    env.ns,
    'resolved',
    `version ${version}`,
    (m) => m.status?.phase === 'Succeeded' && m.status.model?.version === version,
  );

  const got = await plugin('get', 'resolved', '-n', env.ns);
  expect(got.code).toBe(0);
  expect(got.stdout).toMatch(line('Model', `${model} \\(alias:champion\\)`));
  expect(got.stdout).toMatch(line('Phase', '✔ Succeeded'));
  expect(got.stdout).toMatch(line('Version', version));
  expect(got.stdout).toMatch(/^ {2}✔ Resolve\s+Resolved\s/m);

  const history = await plugin('history', 'resolved', '-n', env.ns);
  expect(history).toMatchObject({ code: 0, stdout: '' });
  expect(history.stderr).toBe(`No deployment runs of resolved in namespace ${env.ns} yet.\n`);
});

test('approve and retry set their annotations; approve refuses to guess on an object that does not wait', async () => {
  const refused = await plugin('approve', 'resolved', '-n', env.ns);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe(
    'error: resolved is not waiting for approval (phase Succeeded); give the version to approve\n',
  );
  expect((await getMd(env.ns, 'resolved')).metadata.annotations?.[APPROVE_ANNOTATION]).toBeUndefined();

  const approved = await plugin('approve', 'resolved', '7', '-n', env.ns);
  expect(approved.code).toBe(0);
  expect(approved.stdout).toContain(`modeldeployment/resolved approved version 7 (${APPROVE_ANNOTATION}=7)`);

  const retried = await plugin('retry', 'resolved', '-n', env.ns);
  expect(retried.code).toBe(0);
  const token = /retry=(\S+)\)/.exec(retried.stdout)?.[1];
  expect(token).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  const annotations = (await getMd(env.ns, 'resolved')).metadata.annotations;
  expect(annotations).toMatchObject({ [APPROVE_ANNOTATION]: '7', [RETRY_ANNOTATION]: token });

  // A new value each time: the operator reacts to a change.
  await new Promise((r) => setTimeout(r, 5));
  await plugin('retry', 'resolved', '-n', env.ns);
  expect((await getMd(env.ns, 'resolved')).metadata.annotations?.[RETRY_ANNOTATION]).not.toBe(token);
});

test('errors: a missing object is one line and exit 1; a bad flag is usage and exit 2', async () => {
  const missing = await plugin('get', 'nobody', '-n', env.ns);
  expect(missing).toMatchObject({ code: 1, stdout: '' });
  expect(missing.stderr).toBe(`error: modeldeployments.mlops.healthpredict.io "nobody" not found\n`);

  const usage = await plugin('get', 'shown', '--output=yaml');
  expect(usage.code).toBe(2);
  expect(usage.stderr).toMatch(/^error: unknown flag --output\n\nkubectl modeldeployment: /);
});

test('get --watch prints a frame, then a new one when a promoted version is deployed', async () => {
  const { name: model, version: v1 } = await served('watched');
  const { child, out } = startPlugin(['get', 'watched', '-n', env.ns, '--watch']);
  const exited = new Promise<void>((done) => child.on('close', () => done()));
  // Not a terminal: frames follow each other a blank line apart, with no escape codes. A frame
  // is checked whole, by its last section, so a pipe chunk that ends mid-frame does not count.
  const frames = () => out.stdout.split('\n\n').filter((f) => f.startsWith('Name:'));
  const v1Filed = new RegExp(`^ {2}${v1}\\s+Succeeded\\s`, 'm');
  let v2 = '';
  try {
    const first = await waitFor('the first frame', async () => frames().find((f) => v1Filed.test(f)), {
      timeoutMs: 20_000,
    });
    expect(first).toMatch(line('Version', v1));
    expect(first).toMatch(line('Phase', '✔ Succeeded'));

    ({ version: v2 } = await mlflow().createRunVersion(model));
    await mlflow().waitUntilReady(model, v2);
    await mlflow().setAlias(model, 'champion', v2);
    await requestReconcile(env.ns, 'watched');
    const deployedV2 = new RegExp(`^Run:\\s+version ${v2}, started .*, Succeeded after`, 'm');
    const last = await waitFor(
      `a frame with version ${v2} deployed`,
      async () =>
        frames().find((f) => deployedV2.test(f) && new RegExp(`^ {2}${v2}\\s+Succeeded\\s`, 'm').test(f)),
      { timeoutMs: 90_000 },
    );
    expect(last).toMatch(line('Version', v2));
    expect(last).toMatch(line('Phase', '✔ Succeeded'));
    expect(last).toMatch(v1Filed); // v1 is in the history below it
    expect(frames().length).toBeGreaterThanOrEqual(2);
    expect(out.stdout).not.toContain('\x1b[');
    expect(child.exitCode).toBeNull(); // still watching: only Ctrl-C ends it
  } finally {
    child.kill('SIGINT');
    await exited;
  }
  expect(out.stderr).toBe('');

  const history = await plugin('history', 'watched', '-n', env.ns);
  expect(history.code).toBe(0);
  expect(rows(history.stdout).map((r) => r.slice(0, 2))).toEqual([
    [v2, 'Succeeded'],
    [v1, 'Succeeded'],
  ]);
}, 240_000);
