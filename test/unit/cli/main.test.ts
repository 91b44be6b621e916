// The plugin end to end against a fake apiserver API: exit codes, what goes to stdout and stderr,
// the annotations written, and get --watch's frames as the watch delivers, ends and expires.
import { describe, expect, it } from '@jest/globals';
import type { ModelDeployment } from '../../../src/api/v1alpha1/modelDeployment.js';
import { CliError, type Listed, type MdApi, type WatchHandlers } from '../../../src/cli/client.js';
import { follow, framer } from '../../../src/cli/follow.js';
import { main, type Io } from '../../../src/cli/main.js';
import { renderGet } from '../../../src/cli/render.js';
import { awaitingApproval, NOW, resolveOnly, rolledBack } from './fixtures.js';

class FakeApi implements MdApi {
  readonly namespace = 'ml';
  readonly patches: { name: string; annotations: Record<string, string> }[] = [];
  readonly watches: { from: string; handlers: WatchHandlers; controller: AbortController }[] = [];
  lists = 0;
  constructor(public object: ModelDeployment | undefined) {}

  async get(name: string): Promise<ModelDeployment> {
    if (!this.object) throw new CliError(`modeldeployments.mlops.healthpredict.io "${name}" not found`);
    return structuredClone(this.object);
  }
  async annotate(name: string, annotations: Record<string, string>): Promise<ModelDeployment> {
    this.patches.push({ name, annotations });
    return this.get(name);
  }
  async list(): Promise<Listed> {
    this.lists++;
    return { md: this.object && structuredClone(this.object), resourceVersion: `list-${this.lists}` };
  }
  async watch(_name: string, from: string, handlers: WatchHandlers): Promise<AbortController> {
    const controller = new AbortController();
    let ended = false;
    const done: WatchHandlers['done'] = (end) => {
      if (!ended) handlers.done(end);
      ended = true;
    };
    controller.signal.addEventListener('abort', () => done({ kind: 'closed' }));
    this.watches.push({ from, handlers: { event: handlers.event, done }, controller });
    return controller;
  }
}

function io(api: MdApi, extra: Partial<Io> = {}) {
  const out = { stdout: '', stderr: '' };
  const value: Io = {
    stdout: { write: (t: string) => (out.stdout += t), isTTY: false },
    stderr: { write: (t: string) => (out.stderr += t) },
    clock: () => NOW,
    connect: () => api,
    ...extra,
  };
  return { io: value, out };
}

const settle = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setImmediate(r));
  expect(check()).toBe(true);
};

describe('main', () => {
  it('get prints the view, exit 0', async () => {
    const { io: world, out } = io(new FakeApi(awaitingApproval));
    expect(await main(['get', 'iris'], world)).toBe(0);
    expect(out.stdout).toBe(renderGet(awaitingApproval, NOW));
    expect(out.stderr).toBe('');
  });

  it('an apiserver error: one line on stderr, exit 1', async () => {
    const { io: world, out } = io(new FakeApi(undefined));
    expect(await main(['-n', 'ml', 'get', 'nope'], world)).toBe(1);
    expect(out.stderr).toBe('error: modeldeployments.mlops.healthpredict.io "nope" not found\n');
    expect(out.stdout).toBe('');
  });

  it('a kubeconfig that cannot be loaded: exit 1', async () => {
    const { io: world, out } = io(new FakeApi(undefined), {
      connect: () => {
        throw new CliError('cannot load the kubeconfig: ENOENT');
      },
    });
    expect(await main(['get', 'iris'], world)).toBe(1);
    expect(out.stderr).toBe('error: cannot load the kubeconfig: ENOENT\n');
  });

  it.each([[['frobnicate', 'iris']], [['get', 'iris', '--bogus']], [[]]])(
    'usage error %j: usage on stderr, exit 2, no call',
    async (argv) => {
      const api = new FakeApi(resolveOnly);
      const { io: world, out } = io(api, {
        connect: () => {
          throw new Error('must not connect');
        },
      });
      expect(await main(argv, world)).toBe(2);
      expect(out.stderr).toMatch(/^error: .+\n\nkubectl modeldeployment: /);
      expect(out.stderr).toContain('Usage:');
      expect(out.stdout).toBe('');
    },
  );

  it('--help: usage on stdout, exit 0', async () => {
    const { io: world, out } = io(new FakeApi(undefined));
    expect(await main(['--help'], world)).toBe(0);
    expect(out.stdout).toContain('kubectl modeldeployment approve NAME [VERSION]');
  });

  it('approve without a version approves the one waiting', async () => {
    const api = new FakeApi(awaitingApproval);
    const { io: world, out } = io(api);
    expect(await main(['approve', 'iris'], world)).toBe(0);
    expect(api.patches).toEqual([{ name: 'iris', annotations: { 'mlops.healthpredict.io/approve': '4' } }]);
    expect(out.stdout).toBe('modeldeployment/iris approved version 4 (mlops.healthpredict.io/approve=4)\n');
  });

  it('approve without a version on an object that does not wait: exit 1, nothing written', async () => {
    const api = new FakeApi(resolveOnly);
    const { io: world, out } = io(api);
    expect(await main(['approve', 'iris'], world)).toBe(1);
    expect(api.patches).toEqual([]);
    expect(out.stderr).toBe(
      'error: iris is not waiting for approval (phase Succeeded); give the version to approve\n',
    );
  });

  it('approve VERSION writes it without reading first', async () => {
    const api = new FakeApi(resolveOnly);
    const { io: world } = io(api);
    expect(await main(['approve', 'iris', '9'], world)).toBe(0);
    expect(api.patches).toEqual([{ name: 'iris', annotations: { 'mlops.healthpredict.io/approve': '9' } }]);
  });

  it('retry writes the clock as the token', async () => {
    const api = new FakeApi(rolledBack);
    const { io: world, out } = io(api);
    expect(await main(['retry', 'iris'], world)).toBe(0);
    expect(api.patches).toEqual([
      { name: 'iris', annotations: { 'mlops.healthpredict.io/retry': '2025-03-01T12:00:00.000Z' } },
    ]);
    expect(out.stdout).toContain('retry requested');
  });

  it('history of an object without runs says so on stderr, exit 0', async () => {
    const { io: world, out } = io(new FakeApi({ ...resolveOnly, status: {} }));
    expect(await main(['history', 'iris'], world)).toBe(0);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe('No deployment runs of iris in namespace ml yet.\n');
  });
});

describe('get --watch', () => {
  it('a frame per change, separated by a blank line; resumes and relists as the watch ends', async () => {
    const api = new FakeApi(awaitingApproval);
    const stop = new AbortController();
    const { io: world, out } = io(api, { signal: stop.signal });
    const exit = main(['get', 'iris', '--watch'], world);
    await settle(() => api.watches.length === 1);
    expect(api.watches[0]?.from).toBe('list-1');
    const first = renderGet(awaitingApproval, NOW);
    expect(out.stdout).toBe(first);

    // A change: a new frame. The same object again: no frame.
    const approved = structuredClone(rolledBack);
    approved.metadata.resourceVersion = '7';
    api.watches[0]?.handlers.event('MODIFIED', approved);
    api.watches[0]?.handlers.event('MODIFIED', approved);
    expect(out.stdout).toBe(first + '\n' + renderGet(rolledBack, NOW));

    // The server ends the watch: watched again from the last resourceVersion, no list.
    api.watches[0]?.handlers.done({ kind: 'closed' });
    await settle(() => api.watches.length === 2);
    expect(api.watches[1]?.from).toBe('7');
    expect(api.lists).toBe(1);

    // Too old (410 as an ERROR event): listed again, and watched from the list.
    api.watches[1]?.handlers.event('ERROR', { kind: 'Status', code: 410 });
    await settle(() => api.watches.length === 3);
    expect(api.lists).toBe(2);
    expect(api.watches[2]?.from).toBe('list-2');

    // Deleted: says so.
    api.watches[2]?.handlers.event('DELETED', approved);
    expect(out.stdout).toMatch(
      /\n\nmodeldeployment "iris" in namespace "ml" was deleted; waiting for it to come back\n$/,
    );

    stop.abort();
    expect(await exit).toBe(0);
    expect(api.watches[2]?.controller.signal.aborted).toBe(true);
  });

  it('an object that does not exist: exit 1 before any watch', async () => {
    const api = new FakeApi(undefined);
    const { io: world, out } = io(api);
    expect(await main(['get', 'nope', '-w'], world)).toBe(1);
    expect(out.stderr).toBe('error: modeldeployment "nope" not found in namespace "ml"\n');
    expect(api.watches).toEqual([]);
  });
});

describe('follow', () => {
  it('gives up after failed watches in a row, with the last failure', async () => {
    const api = new FakeApi(resolveOnly);
    const slept: number[] = [];
    const following = follow(api, 'iris', {
      signal: new AbortController().signal,
      show: () => undefined,
      sleep: async (ms) => void slept.push(ms),
    });
    for (let i = 1; i <= 3; i++) {
      await settle(() => api.watches.length === i);
      api.watches[i - 1]?.handlers.done({ kind: 'failed', message: `403 forbidden ${i}` });
    }
    await expect(following).rejects.toThrow('403 forbidden 3');
    expect(slept).toEqual([1000, 2000]);
  });
});

describe('framer', () => {
  it('on a terminal, clears the screen before each frame', () => {
    const frames = framer(true);
    expect(frames('a\n')).toBe('\x1b[H\x1b[2Ja\n');
    expect(frames('a\n')).toBeUndefined();
    expect(frames('b\n')).toBe('\x1b[H\x1b[2Jb\n');
  });
  it('into a pipe, a blank line between frames', () => {
    const frames = framer(false);
    expect(frames('a\n')).toBe('a\n');
    expect(frames('b\n')).toBe('\nb\n');
  });
});
