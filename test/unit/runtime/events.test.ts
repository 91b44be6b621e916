// The Event recorder against a fake apiserver: record() only queues, a background drain writes,
// identical Events fold into one with a count (in the queue and after the write), a token bucket
// per object drops spam, a full queue drops the newest, and nothing is ever thrown at the caller.
import { describe, expect, it } from '@jest/globals';
import { ApiException, type CoreV1Event } from '@kubernetes/client-node';
import { pino } from 'pino';
import {
  EventRecorder,
  type EventDropReason,
  type EventRecorderOptions,
  type EventTarget,
  type EventsApi,
} from '../../../src/runtime/events.js';
import { deferred, flushMicrotasks, isSettled, type Deferred } from '../helpers/async.js';

interface Call {
  verb: 'create' | 'patch';
  namespace: string;
  name: string;
  count: number;
  lastTimestamp: Date;
  body: Record<string, unknown>;
}

/** An apiserver that keeps Events by name. Held, each call waits for release(); fail() makes the
 * next call of a verb throw. */
function fakeApi() {
  const calls: Call[] = [];
  const stored = new Map<string, Record<string, unknown>>();
  const gates: Deferred<void>[] = [];
  const failures: Record<Call['verb'], unknown[]> = { create: [], patch: [] };
  let held = false;
  let inFlight = 0;
  let maxInFlight = 0;

  async function call(c: Call): Promise<unknown> {
    calls.push(c);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (held) {
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
      }
      const failure = failures[c.verb].shift();
      if (failure) throw failure;
      const key = `${c.namespace}/${c.name}`;
      if (c.verb === 'create') {
        if (stored.has(key)) throw new ApiException(409, 'AlreadyExists', '{}', {});
        stored.set(key, c.body);
      } else {
        const event = stored.get(key);
        if (!event) throw new ApiException(404, 'NotFound', '{}', {});
        Object.assign(event, c.body);
      }
      return c.body;
    } finally {
      inFlight--;
    }
  }

  const api = {
    createNamespacedEvent: ({ namespace, body }: { namespace: string; body: CoreV1Event }) => {
      const b = body as unknown as Record<string, unknown> & { metadata: { name: string } };
      return call({
        verb: 'create',
        namespace,
        name: b.metadata.name,
        count: b.count as number,
        lastTimestamp: b.lastTimestamp as Date,
        body: b,
      });
    },
    patchNamespacedEvent: ({ namespace, name, body }: { namespace: string; name: string; body: object }) => {
      const b = body as { count: number; lastTimestamp: Date };
      return call({
        verb: 'patch',
        namespace,
        name,
        count: b.count,
        lastTimestamp: b.lastTimestamp,
        body: b,
      });
    },
  } as unknown as EventsApi;

  return {
    api,
    calls,
    stored,
    hold: () => void (held = true),
    /** Lets the oldest held call answer. */
    releaseOne: async () => {
      gates.shift()?.resolve();
      await flushMicrotasks();
    },
    releaseAll: async () => {
      held = false;
      while (gates.length > 0) gates.shift()?.resolve();
      await flushMicrotasks();
    },
    fail: (verb: Call['verb'], err: unknown) => failures[verb].push(err),
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

function setup(options: EventRecorderOptions = {}) {
  const clock = { ms: Date.parse('2026-03-01T10:00:00Z') };
  const fake = fakeApi();
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const dropped: EventDropReason[] = [];
  const recorder = new EventRecorder(fake.api, 'model-operator', log, {
    now: () => clock.ms,
    onDropped: (why) => dropped.push(why),
    ...options,
  });
  const record = (target: EventTarget, reason: string, message = `${reason} happened`, type = 'Normal') =>
    recorder.record(target, type as 'Normal' | 'Warning', reason, message);
  return { clock, fake, lines, dropped, recorder, record, ...fake };
}

const md = (name: string, uid = `uid-${name}`): EventTarget => ({
  apiVersion: 'mlops.example.io/v1alpha1',
  kind: 'ModelDeployment',
  metadata: { namespace: 'ml', name, uid },
});
const churn = md('churn');
const MINUTE = 60_000;

describe('EventRecorder: off the reconcile path', () => {
  it('returns before anything is written, and writes once drained', async () => {
    const t = setup();
    expect(t.recorder.record(churn, 'Normal', 'BuildStarted', 'Started build')).toBeUndefined();
    expect(t.calls).toHaveLength(0);
    expect(t.recorder.queued).toBe(1);
    await t.recorder.flush();

    expect(t.calls).toHaveLength(1);
    const at = new Date(t.clock.ms);
    expect(t.calls[0]?.body).toEqual({
      metadata: { name: expect.stringMatching(/^churn\.[0-9a-f]{16}$/), namespace: 'ml' },
      involvedObject: {
        apiVersion: 'mlops.example.io/v1alpha1',
        kind: 'ModelDeployment',
        namespace: 'ml',
        name: 'churn',
        uid: 'uid-churn',
      },
      type: 'Normal',
      reason: 'BuildStarted',
      message: 'Started build',
      source: { component: 'model-operator' },
      reportingComponent: 'model-operator',
      reportingInstance: 'model-operator',
      firstTimestamp: at,
      lastTimestamp: at,
      count: 1,
    });
    expect(t.recorder.queued).toBe(0);
  });

  it('does not wait for a slow apiserver', async () => {
    const t = setup();
    t.hold();
    t.record(churn, 'BuildStarted');
    await flushMicrotasks();
    expect(t.fake.inFlight).toBe(1);
    t.record(churn, 'ImageBuilt'); // returns although the first write hangs
    const flushed = t.recorder.flush();
    expect(await isSettled(flushed)).toBe(false);
    await t.releaseAll();
    await flushed;
    expect(t.calls.map((c) => c.body.reason ?? c.verb)).toEqual(['BuildStarted', 'ImageBuilt']);
  });

  it('cleans the message: no credential, bounded length', async () => {
    const t = setup();
    t.record(churn, 'Failed', `MLflow refused Authorization: Bearer abc123secret ${'x'.repeat(2000)}`);
    await t.recorder.flush();
    const message = t.calls[0]?.body.message as string;
    expect(message).not.toContain('abc123secret');
    expect(message).toContain('[redacted]');
    expect(message.length).toBeLessThanOrEqual(1024);
  });
});

describe('EventRecorder: folding identical Events', () => {
  it('folds a repeat after the write into a patch of count and lastTimestamp', async () => {
    const t = setup();
    t.record(churn, 'Stalled', 'fix the spec', 'Warning');
    await t.recorder.flush();
    t.clock.ms += MINUTE;
    t.record(churn, 'Stalled', 'fix the spec', 'Warning');
    await t.recorder.flush();

    expect(t.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['patch', 2],
    ]);
    expect(t.calls[1]?.name).toBe(t.calls[0]?.name);
    expect(t.calls[1]?.lastTimestamp).toEqual(new Date(t.clock.ms));
    expect(t.stored.size).toBe(1);
  });

  it('folds repeats made while the create is still queued into that create', async () => {
    const t = setup();
    t.record(churn, 'Stalled');
    t.clock.ms += 1000;
    t.record(churn, 'Stalled');
    t.clock.ms += 1000;
    t.record(churn, 'Stalled');
    expect(t.recorder.queued).toBe(1);
    await t.recorder.flush();

    expect(t.calls).toHaveLength(1);
    expect(t.calls[0]).toMatchObject({ verb: 'create', count: 3, lastTimestamp: new Date(t.clock.ms) });
    expect(t.calls[0]?.body.firstTimestamp).toEqual(new Date(t.clock.ms - 2000));
  });

  it('folds repeats made while the create is in flight into one patch after it', async () => {
    const t = setup();
    t.hold();
    t.record(churn, 'Stalled');
    await flushMicrotasks();
    expect(t.calls.map((c) => c.verb)).toEqual(['create']); // in flight
    t.record(churn, 'Stalled');
    t.record(churn, 'Stalled');
    await t.releaseAll();
    await t.recorder.flush();

    expect(t.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['patch', 3],
    ]);
    expect(t.stored.size).toBe(1);
  });

  it('starts a new Event once the window since the last repeat has passed', async () => {
    const t = setup({ foldWindowMs: 10 * MINUTE });
    t.record(churn, 'Stalled');
    await t.recorder.flush();
    t.clock.ms += 9 * MINUTE;
    t.record(churn, 'Stalled'); // the window slides with each repeat
    await t.recorder.flush();
    t.clock.ms += 10 * MINUTE;
    t.record(churn, 'Stalled');
    await t.recorder.flush();

    expect(t.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['patch', 2],
      ['create', 1],
    ]);
    expect(t.calls[2]?.name).not.toBe(t.calls[0]?.name);
  });

  it('keeps apart what differs: object, uid, type, reason, message', async () => {
    const t = setup();
    t.record(churn, 'Stalled', 'a', 'Warning');
    t.record(churn, 'Stalled', 'a', 'Normal');
    t.record(churn, 'Stalled', 'b', 'Warning');
    t.record(churn, 'Other', 'a', 'Warning');
    t.record(md('iris'), 'Stalled', 'a', 'Warning');
    t.record(md('churn', 'uid-recreated'), 'Stalled', 'a', 'Warning');
    await t.recorder.flush();
    expect(t.calls.map((c) => [c.verb, c.count])).toEqual(Array(6).fill(['create', 1]));
  });

  it('bounds the fold map: the least recently repeated Event is forgotten first', async () => {
    const t = setup({ maxFolds: 2 });
    t.record(churn, 'A');
    t.record(churn, 'B');
    await t.recorder.flush();
    t.record(churn, 'A'); // A is now the most recent
    t.record(churn, 'C'); // forgets B
    t.record(churn, 'B'); // a new Event
    await t.recorder.flush();
    expect(t.calls.map((c) => `${c.verb} ${c.count}`)).toEqual([
      'create 1',
      'create 1',
      'patch 2',
      'create 1',
      'create 1',
    ]);
    expect(t.stored.size).toBe(4);
  });
});

describe('EventRecorder: spam filter', () => {
  it('lets a burst of 25 through per object, then one per 5 minutes', async () => {
    const t = setup();
    for (let i = 0; i < 30; i++) t.record(churn, 'Retry', `attempt ${i}`);
    t.record(md('iris'), 'Retry'); // another object has its own bucket
    await t.recorder.flush();
    expect(t.calls).toHaveLength(26);
    expect(t.dropped).toEqual(Array(5).fill('spam'));

    t.clock.ms += 5 * MINUTE - 1;
    t.record(churn, 'Retry', 'too early');
    t.clock.ms += 1;
    t.record(churn, 'Retry', 'refilled');
    t.record(churn, 'Retry', 'again too early');
    t.clock.ms += 10 * MINUTE;
    t.record(churn, 'Retry', 'two more a');
    t.record(churn, 'Retry', 'two more b');
    t.record(churn, 'Retry', 'two more c');
    await t.recorder.flush();
    expect(t.calls.slice(26).map((c) => c.body.message)).toEqual(['refilled', 'two more a', 'two more b']);
    expect(t.dropped).toHaveLength(8);
  });

  it('counts folded repeats too, as client-go does, and takes its burst and interval from options', async () => {
    const t = setup({ spam: { burst: 2, refillMs: MINUTE } });
    t.record(churn, 'Stalled');
    t.record(churn, 'Stalled');
    t.record(churn, 'Stalled'); // dropped: not counted in the Event either
    await t.recorder.flush();
    expect(t.calls.map((c) => [c.verb, c.count])).toEqual([['create', 2]]);
    expect(t.dropped).toEqual(['spam']);
    t.clock.ms += MINUTE;
    t.record(churn, 'Stalled');
    await t.recorder.flush();
    expect(t.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 2],
      ['patch', 3],
    ]);
  });
});

describe('EventRecorder: bounded queue', () => {
  it('drops the newest Event when the queue is full, without blocking, and counts it', async () => {
    const t = setup({ queueSize: 3 });
    t.hold();
    for (const name of ['a', 'b', 'c', 'd', 'e']) t.record(md(name), 'Started');
    expect(t.dropped).toEqual(['queue-full', 'queue-full']);
    t.record(md('a'), 'Started'); // a repeat of a queued Event needs no room
    expect(t.dropped).toHaveLength(2);
    await t.releaseAll();
    await t.recorder.flush();
    expect(t.calls.map((c) => `${c.name.split('.')[0]} ${c.count}`)).toEqual(['a 2', 'b 1', 'c 1']);
  });

  it('makes room as writes finish', async () => {
    const t = setup({ queueSize: 1, concurrency: 1 });
    t.hold();
    t.record(md('a'), 'Started');
    await flushMicrotasks(); // taken by the worker: the queue is empty again
    t.record(md('b'), 'Started');
    t.record(md('c'), 'Started');
    expect(t.dropped).toEqual(['queue-full']);
    await t.releaseAll();
    await t.recorder.flush();
    expect(t.calls.map((c) => c.name.split('.')[0])).toEqual(['a', 'b']);
  });
});

describe('EventRecorder: failures', () => {
  it('logs a failed create, never throws, and creates the Event with the next repeat', async () => {
    const t = setup();
    t.fail('create', new ApiException(500, 'Internal error', '{"message":"etcd timed out"}', {}));
    expect(() => t.record(churn, 'Stalled')).not.toThrow();
    await expect(t.recorder.flush()).resolves.toBeUndefined();
    const warning = t.lines.find((l) => l.msg === 'Failed to record Event');
    expect(warning).toMatchObject({ level: 40, reason: 'Stalled', object: 'ml/churn' });
    expect(warning?.error).toContain('etcd timed out');

    t.record(churn, 'Stalled');
    await t.recorder.flush();
    expect(t.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['create', 2],
    ]);
    expect(t.stored.size).toBe(1);
  });

  it('goes on with the next Event after a failure', async () => {
    const t = setup({ concurrency: 1 });
    t.fail('create', new Error('socket hang up'));
    t.record(churn, 'A');
    t.record(churn, 'B');
    await t.recorder.flush();
    expect([...t.stored.values()].map((e) => e.reason)).toEqual(['B']);
  });

  it('creates the Event again when the patch finds it gone (expired)', async () => {
    const t = setup();
    t.record(churn, 'Stalled');
    await t.recorder.flush();
    const first = t.calls[0];
    t.stored.clear();
    t.clock.ms += MINUTE;
    t.record(churn, 'Stalled');
    await t.recorder.flush();
    expect(t.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['patch', 2],
      ['create', 2],
    ]);
    expect(t.calls[2]?.body.firstTimestamp).toEqual(first?.body.firstTimestamp);
  });

  it('patches when a create that seemed to fail had landed', async () => {
    const t = setup();
    t.fail('create', new ApiException(504, 'Timeout', '{}', {}));
    t.record(churn, 'Stalled');
    await t.recorder.flush();
    const first = t.calls[0];
    t.stored.set(`ml/${first?.name}`, { ...first?.body }); // it did land, after all
    t.record(churn, 'Stalled');
    await t.recorder.flush();
    expect(t.calls.map((c) => `${c.verb} ${c.count}`)).toEqual(['create 1', 'create 2', 'patch 2']);
    expect(t.stored.get(`ml/${first?.name}`)?.count).toBe(2);
  });
});

describe('EventRecorder: forget', () => {
  it('forgets the folds of a deleted object: the same Event again is a new one', async () => {
    const t = setup();
    t.record(churn, 'Stalled');
    t.record(md('iris'), 'Stalled');
    await t.recorder.flush();
    t.recorder.forget('ml', 'churn');
    t.record(churn, 'Stalled');
    t.record(md('iris'), 'Stalled');
    await t.recorder.flush();
    expect(t.calls.map((c) => `${c.verb} ${c.name.split('.')[0]} ${c.count}`)).toEqual([
      'create churn 1',
      'create iris 1',
      'create churn 1',
      'patch iris 2',
    ]);
  });

  it("forgets a deleted object's spam bucket, and only its own", async () => {
    const t = setup({ spam: { burst: 1 } });
    t.record(churn, 'A');
    t.record(md('churn2'), 'A'); // a name that starts like churn's
    t.record(churn, 'B');
    expect(t.dropped).toEqual(['spam']);
    t.recorder.forget('ml', 'churn');
    t.record(churn, 'C');
    t.record(md('churn2'), 'B');
    expect(t.dropped).toEqual(['spam', 'spam']);
    await t.recorder.flush();
    expect(t.calls.map((c) => c.body.reason)).toEqual(['A', 'A', 'C']);
  });

  it('still writes what was queued before the object was forgotten', async () => {
    const t = setup();
    t.record(churn, 'Deleted');
    t.recorder.forget('ml', 'churn');
    await t.recorder.flush();
    expect(t.calls).toHaveLength(1);
  });
});

describe('EventRecorder: flush, stop, concurrency and order', () => {
  it('flush resolves at once when nothing is queued, and only once all is written otherwise', async () => {
    const t = setup();
    await expect(t.recorder.flush()).resolves.toBeUndefined();
    t.hold();
    t.record(churn, 'A');
    t.record(churn, 'B');
    const flushed = t.recorder.flush();
    await flushMicrotasks(); // A is in flight
    await t.releaseOne();
    expect(t.calls).toHaveLength(2); // B is in flight
    expect(await isSettled(flushed)).toBe(false);
    await t.releaseOne();
    expect(await isSettled(flushed)).toBe(true);
    expect(t.calls).toHaveLength(2);
  });

  it('stop takes no more Events and resolves once the queued ones are written', async () => {
    const t = setup();
    t.record(churn, 'A');
    const stopped = t.recorder.stop();
    t.record(churn, 'B');
    await stopped;
    t.record(churn, 'C');
    await t.recorder.flush();
    expect(t.calls.map((c) => c.body.reason)).toEqual(['A']);
  });

  it('writes at most two at a time, each of another object', async () => {
    const t = setup();
    t.hold();
    for (const name of ['a', 'b', 'c', 'd', 'e']) t.record(md(name), 'Started');
    await flushMicrotasks();
    expect(t.fake.inFlight).toBe(2);
    await t.releaseAll();
    await t.recorder.flush();
    expect(t.calls).toHaveLength(5);
    expect(t.fake.maxInFlight).toBe(2);
  });

  it("keeps one object's Events in order, one at a time, while other objects go on", async () => {
    const t = setup();
    t.hold();
    t.record(churn, 'NewModelVersion');
    t.record(churn, 'DeploymentStarted');
    t.record(churn, 'BuildStarted');
    t.record(md('iris'), 'NewModelVersion');
    await flushMicrotasks();
    const started = () => t.calls.map((c) => `${c.name.split('.')[0]} ${c.body.reason}`);
    expect(started()).toEqual(['churn NewModelVersion', 'iris NewModelVersion']);
    await t.releaseOne(); // churn's first: its next may start
    expect(started()).toEqual(['churn NewModelVersion', 'iris NewModelVersion', 'churn DeploymentStarted']);
    await t.releaseAll();
    await t.recorder.flush();
    expect(started()).toEqual([
      'churn NewModelVersion',
      'iris NewModelVersion',
      'churn DeploymentStarted',
      'churn BuildStarted',
    ]);
  });
});
