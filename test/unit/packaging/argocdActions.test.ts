// The Argo CD resource actions (health/argocd/actions/), run by a real Lua (lua5.4 + lua-cjson,
// installed by test/bed/lua.sh) with only what Argo CD's action VM offers: discovery over
// hand-written objects, then each action, judged by the merge patch Argo CD would send. No servers.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACTION_NAMES,
  argocdAction,
  argocdDiscover,
  mergePatch,
  type ActionName,
  type ActionOffer,
} from '../../helpers/argocdActions.js';

const APPROVE = 'mlops.healthpredict.io/approve';
const RETRY = 'mlops.healthpredict.io/retry';
const NOW = new Date('2026-01-01T00:00:00Z');
const STAMP = '2026-01-01T00:00:00Z';

const cond = (type: string, status: string, reason = `${type}Reason`) => ({
  type,
  status,
  reason,
  message: `${type} message`,
  lastTransitionTime: '2025-12-31T23:00:00Z',
});

/** A ModelDeployment as the apiserver returns it; `status: undefined` leaves status out. */
function md(
  status: unknown,
  metadata: Record<string, unknown> = { annotations: { 'team.example/owner': 'ml' } },
): Record<string, unknown> {
  return {
    apiVersion: 'mlops.healthpredict.io/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: 'health-predict', namespace: 'ml-serving', generation: 4, uid: 'u-1', ...metadata },
    spec: {
      model: { name: 'HealthPredictModel', alias: 'champion' },
      approval: { required: true },
      deployment: { name: 'api', container: 'api' },
    },
    ...(status === undefined ? {} : { status }),
  };
}

const run = (version: unknown, extra: Record<string, unknown> = {}) => ({
  version,
  specHash: 'h1',
  startedAt: '2025-12-31T22:00:00Z',
  ...extra,
});
const status = (phase: string, extra: Record<string, unknown> = {}, conditions: unknown[] = []) => ({
  observedGeneration: 4,
  phase,
  model: { name: 'HealthPredictModel', version: '7' },
  currentRun: run('7'),
  conditions: [cond('Ready', 'False'), ...conditions],
  ...extra,
});

const awaiting = status('AwaitingApproval', {}, [
  cond('Reconciling', 'True', 'AwaitingApproval'),
  cond('Approved', 'False', 'AwaitingApproval'),
]);
const failed = status('Failed', { currentRun: run('7', { result: 'Failed', reason: 'BuildFailed' }) }, [
  cond('Stalled', 'True', 'BuildFailed'),
]);
const rolledBack = status(
  'RolledBack',
  { currentRun: run('7', { result: 'RolledBack', retryToken: '2025-12-30T10:00:00Z' }) },
  [cond('Stalled', 'True', 'RolledBack')],
);
const succeeded = {
  ...status('Succeeded', { currentRun: run('7', { result: 'Succeeded' }) }),
  conditions: [cond('Ready', 'True', 'Succeeded'), cond('Approved', 'True', 'Approved')],
};

/** name, object, approve enabled, retry enabled */
const objects: [string, Record<string, unknown>, boolean, boolean][] = [
  ['awaiting approval', md(awaiting), true, false],
  [
    'awaiting approval, the annotation names an older version',
    md(awaiting, { annotations: { [APPROVE]: '6' } }),
    true,
    false,
  ],
  ['awaiting approval, no annotations', md(awaiting, { annotations: undefined }), true, false],
  ['awaiting approval, annotations: null', md(awaiting, { annotations: null }), true, false],
  ['awaiting approval, no metadata at all', { ...md(awaiting), metadata: undefined }, true, false],
  ['awaiting approval without currentRun', md({ ...awaiting, currentRun: undefined }), false, false],
  [
    'awaiting approval, currentRun.version not a string',
    md({ ...awaiting, currentRun: run(7) }),
    false,
    false,
  ],
  ['awaiting approval, currentRun.version empty', md({ ...awaiting, currentRun: run('') }), false, false],
  [
    'building (not awaiting)',
    md(status('Building', {}, [cond('Reconciling', 'True', 'Building')])),
    false,
    false,
  ],
  [
    'deploying after the approval',
    md(status('Deploying', {}, [cond('Approved', 'True', 'Approved')])),
    false,
    false,
  ],
  ['rolling back', md(status('RollingBack', {}, [cond('Reconciling', 'True', 'RollingBack')])), false, false],
  ['succeeded', md(succeeded), false, false],
  ['failed', md(failed), false, true],
  [
    'failed, retried before',
    md(failed, { annotations: { [RETRY]: '2025-12-30T10:00:00Z', a: 'b' } }),
    false,
    true,
  ],
  [
    'failed before any run (spec error, no currentRun)',
    md({ ...failed, currentRun: undefined }),
    false,
    true,
  ],
  ['failed, no annotations', md(failed, { annotations: undefined }), false, true],
  ['rolled back', md(rolledBack), false, true],
  ['no status', md(undefined), false, false],
  ['status: null', md(null), false, false],
  ['status without phase', md({ observedGeneration: 4, conditions: [] }), false, false],
  [
    'no metadata, no status',
    { apiVersion: 'mlops.healthpredict.io/v1alpha1', kind: 'ModelDeployment' },
    false,
    false,
  ],
];

const offers = (approve: boolean, retry: boolean): ActionOffer[] => [
  { name: 'approve', disabled: !approve, displayName: 'Approve version', iconClass: 'fa fa-fw fa-check' },
  { name: 'retry', disabled: !retry, displayName: 'Retry failed version', iconClass: 'fa fa-fw fa-redo' },
];
const annotationPatch = (key: string, value: string) => ({ metadata: { annotations: { [key]: value } } });

describe('discovery.lua', () => {
  test.each(objects.map(([name, obj, approve, retry]) => [name, approve, retry, obj] as const))(
    '%s → approve enabled: %s, retry enabled: %s',
    (_name, approve, retry, obj) => {
      expect(argocdDiscover(obj)).toEqual(offers(approve, retry));
    },
  );
});

describe('every action on every object', () => {
  const rows = objects.flatMap(([name, obj, approve, retry]) =>
    ACTION_NAMES.map((action) => [name, action, obj, action === 'approve' ? approve : retry] as const),
  );
  test.each(rows)(
    '%s, %s: runs exactly when discovery enables it, and changes only its annotation',
    (_name, action: ActionName, obj, enabled) => {
      const outcome = argocdAction(action, obj, { now: NOW });
      expect(outcome.ok).toBe(enabled);
      if (!outcome.ok) return;
      const patch = mergePatch(obj, outcome.obj) as { metadata: { annotations: Record<string, string> } };
      expect(patch).toEqual(annotationPatch(action === 'approve' ? APPROVE : RETRY, expect.any(String)));
      const before =
        (obj.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {};
      expect(outcome.obj).toMatchObject({
        metadata: { annotations: { ...before, ...patch.metadata.annotations } },
      });
    },
  );
});

describe('approve', () => {
  test('sets the annotation to the run’s version, keeping the other annotations', () => {
    const obj = md(awaiting, {
      annotations: { 'team.example/owner': 'ml', 'argocd.argoproj.io/tracking-id': 't' },
    });
    const outcome = argocdAction('approve', obj);
    expect(outcome).toEqual({
      ok: true,
      obj: {
        ...obj,
        metadata: {
          ...(obj.metadata as object),
          annotations: { 'team.example/owner': 'ml', 'argocd.argoproj.io/tracking-id': 't', [APPROVE]: '7' },
        },
      },
    });
  });

  test('approves the version of the run, not the one MLflow resolves now', () => {
    const obj = md({
      ...awaiting,
      model: { name: 'HealthPredictModel', version: '8' },
      currentRun: run('12'),
    });
    const outcome = argocdAction('approve', obj);
    expect(outcome.ok && mergePatch(obj, outcome.obj)).toEqual(annotationPatch(APPROVE, '12'));
  });

  test('replaces an approval of an older version', () => {
    const obj = md(awaiting, { annotations: { [APPROVE]: '6' } });
    const outcome = argocdAction('approve', obj);
    expect(outcome.ok && mergePatch(obj, outcome.obj)).toEqual(annotationPatch(APPROVE, '7'));
  });

  test('creates metadata.annotations, and metadata, when missing', () => {
    const noAnnotations = md(awaiting, { annotations: undefined });
    const a = argocdAction('approve', noAnnotations);
    expect(a.ok && mergePatch(noAnnotations, a.obj)).toEqual(annotationPatch(APPROVE, '7'));
    const noMetadata = { ...md(awaiting), metadata: undefined };
    const b = argocdAction('approve', noMetadata);
    expect(b.ok && b.obj.metadata).toEqual({ annotations: { [APPROVE]: '7' } });
  });

  test.each([
    ['succeeded', md(succeeded), 'status.phase is Succeeded'],
    ['failed', md(failed), 'status.phase is Failed'],
    ['no status', md(undefined), 'status.phase is nil'],
    [
      'awaiting without currentRun',
      md({ ...awaiting, currentRun: undefined }),
      'status.phase is AwaitingApproval',
    ],
  ])('refuses when nothing waits (%s), saying why', (_name, obj, says) => {
    const outcome = argocdAction('approve', obj);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toContain('Nothing to approve: ');
    expect(outcome.error).toContain(says);
    expect(outcome.error).toContain('spec.approval.required');
  });
});

describe('retry', () => {
  test.each([
    ['failed, never retried', STAMP, md(failed)],
    ['rolled back', STAMP, md(rolledBack)],
    ['failed, retried before', STAMP, md(failed, { annotations: { [RETRY]: '2025-12-30T10:00:00Z' } })],
    [
      'the annotation already holds this second',
      `${STAMP}-2`,
      md(failed, { annotations: { [RETRY]: STAMP } }),
    ],
    [
      'the annotation and the last run hold this second and the next value',
      `${STAMP}-3`,
      md(
        { ...failed, currentRun: run('7', { result: 'Failed', retryToken: `${STAMP}-2` }) },
        { annotations: { [RETRY]: STAMP } },
      ),
    ],
  ])('%s → %s', (_name, value, obj) => {
    const outcome = argocdAction('retry', obj, { now: NOW });
    expect(outcome.ok && mergePatch(obj, outcome.obj)).toEqual(annotationPatch(RETRY, value));
  });

  test('without a fixed clock, the value is the current UTC time (RFC 3339, seconds)', () => {
    // The Lua runs in another process and this machine's wall clock may step,
    // so the stamp is checked against a window with a few seconds of slack.
    const SLACK_MS = 5_000;
    const before = Math.floor(Date.now() / 1000) * 1000 - SLACK_MS;
    const outcome = argocdAction('retry', md(failed));
    const after = Date.now() + SLACK_MS;
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const value = (outcome.obj.metadata as { annotations: Record<string, string> }).annotations[RETRY] ?? '';
    expect(value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(value)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(value)).toBeLessThanOrEqual(after);
  });

  test('keeps the other annotations; creates metadata.annotations when missing', () => {
    const obj = md(failed, { annotations: { a: 'b', [APPROVE]: '7' } });
    const kept = argocdAction('retry', obj, { now: NOW });
    expect(kept.ok && kept.obj.metadata).toMatchObject({
      annotations: { a: 'b', [APPROVE]: '7', [RETRY]: STAMP },
    });
    const bare = { ...md(failed), metadata: undefined };
    const created = argocdAction('retry', bare, { now: NOW });
    expect(created.ok && created.obj.metadata).toEqual({ annotations: { [RETRY]: STAMP } });
  });

  test.each([
    ['awaiting approval', md(awaiting), 'AwaitingApproval'],
    ['building', md(status('Building')), 'Building'],
    ['rolling back', md(status('RollingBack')), 'RollingBack'],
    ['succeeded', md(succeeded), 'Succeeded'],
    ['no status', md(undefined), 'nil'],
  ])('refuses unless the run failed (%s), saying why', (_name, obj, phase) => {
    const outcome = argocdAction('retry', obj, { now: NOW });
    expect(outcome).toEqual({
      ok: false,
      error:
        `Nothing to retry: status.phase is ${phase}, not Failed or RolledBack; ` +
        'retry deploys again a version whose run failed',
    });
  });
});

describe('the harness', () => {
  // Argo CD's action VM (gopher-lua) opens only the base functions and table, and preloads a
  // safe os (date, time) for require("os"): the probes must fail or pass here as they would there.
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'argocd-actions-'));
    const probes: Record<string, string> = {
      'string-lib': 'obj.x = string.format("%d", 1)\nreturn obj\n',
      'string-method': 'obj.x = ("a"):upper()\nreturn obj\n',
      'math-lib': 'obj.x = math.floor(1.5)\nreturn obj\n',
      'global-os': 'obj.x = os.date("!%Y")\nreturn obj\n',
      'io-lib': 'io.write("x")\nreturn obj\n',
      'require-io': 'local io = require("io")\nreturn obj\n',
      'safe-os':
        'local os = require("os")\nobj.x = os.date("!%Y-%m-%dT%H:%M:%SZ") .. " " .. os.time()\nreturn obj\n',
      'table-getn': 'obj.x = table.getn({1, 2}) .. ""\nreturn obj\n',
    };
    for (const [name, lua] of Object.entries(probes)) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'action.lua'), lua);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(['string-lib', 'string-method', 'math-lib', 'global-os', 'io-lib', 'require-io'])(
    'a script that uses %s fails, as in Argo CD',
    (probe) => {
      expect(argocdAction(probe, { metadata: {} }, { dir }).ok).toBe(false);
    },
  );

  test('require("os") gives date and time; table.getn works', () => {
    expect(argocdAction('safe-os', { metadata: {} }, { dir, now: NOW })).toEqual({
      ok: true,
      obj: { metadata: {}, x: `${STAMP} ${NOW.getTime() / 1000}` },
    });
    expect(argocdAction('table-getn', { metadata: {} }, { dir })).toEqual({
      ok: true,
      obj: { metadata: {}, x: '2' },
    });
  });

  test('an empty array survives the round trip through Lua', () => {
    const obj = md({ ...failed, conditions: [] }, { annotations: {}, finalizers: [] });
    const outcome = argocdAction('retry', obj, { now: NOW });
    expect(outcome.ok && mergePatch(obj, outcome.obj)).toEqual(annotationPatch(RETRY, STAMP));
  });
});
