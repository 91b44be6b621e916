import { describe, expect, it } from '@jest/globals';
import {
  assertLoopback,
  BenchError,
  figures,
  jobStep,
  type Marks,
  median,
  missingSteps,
  optionArgs,
  parseOptions,
  type ReportInput,
  report,
  reproduceCommands,
  spread,
  stepsSeen,
  stuckConditions,
  table,
  trueCondition,
} from '../../../bench/pipelineOverhead.lib.js';

// A run observed at these performance.now() values (ms).
const marks: Required<Marks> = {
  applied: 1000,
  buildSeen: 1100,
  buildDone: 1300,
  rolloutStart: 1350,
  rolloutDone: 1850,
  testSeen: 1900,
  testDone: 2900,
  succeeded: 3000,
};

describe('parseOptions', () => {
  it('defaults to 5 sequential runs after 1 warm-up run', () => {
    expect(parseOptions([])).toEqual({ runs: 5, warmup: 1, parallel: false });
  });

  it('reads --runs, --warmup and --parallel', () => {
    expect(parseOptions(['--runs', '2', '--warmup', '0', '--parallel'])).toEqual({
      runs: 2,
      warmup: 0,
      parallel: true,
    });
    expect(parseOptions(['--runs=50', '--warmup=10'])).toEqual({ runs: 50, warmup: 10, parallel: false });
  });

  it('answers help to --help and -h', () => {
    expect(parseOptions(['--help'])).toBe('help');
    expect(parseOptions(['-h', '--runs', '3'])).toBe('help');
  });

  it.each([
    [['--runs', '0'], '--runs must be an integer from 1 to 50, got "0"'],
    [['--runs', '51'], '--runs must be an integer from 1 to 50, got "51"'],
    [['--runs', '2.5'], '--runs must be an integer from 1 to 50, got "2.5"'],
    [['--runs', 'five'], '--runs must be an integer from 1 to 50, got "five"'],
    [['--warmup', '11'], '--warmup must be an integer from 0 to 10, got "11"'],
    [['--warmup=-1'], '--warmup must be an integer from 0 to 10, got "-1"'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseOptions(argv)).toThrow(new BenchError(message));
  });

  it('refuses unknown options and stray arguments, with the usage', () => {
    for (const argv of [['--fast'], ['5'], ['--parallel=yes']]) {
      let err: unknown;
      try {
        parseOptions(argv);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BenchError);
      expect((err as Error).message).toContain('usage: npm run bench:pipeline -- [--runs N]');
    }
  });
});

describe('the command that reproduces a report', () => {
  it('names --runs always, --warmup and --parallel only when not the default', () => {
    expect(optionArgs({ runs: 5, warmup: 1, parallel: false })).toBe('--runs 5');
    expect(optionArgs({ runs: 2, warmup: 0, parallel: true })).toBe('--runs 2 --warmup 0 --parallel');
  });

  it('gives the npm script and the commands behind it, which parse back to the same options', () => {
    const o = { runs: 3, warmup: 2, parallel: true };
    const { direct, npm } = reproduceCommands(o);
    expect(npm).toBe('npm run bench:pipeline -- --runs 3 --warmup 2 --parallel');
    expect(direct).toBe(
      'npm run build && npm run build:bench && bash test/bed/with-bed.sh node_modules/.bin/node ' +
        'dist-bench/bench/pipelineOverhead.cli.js --runs 3 --warmup 2 --parallel',
    );
    expect(parseOptions(npm.split(' -- ')[1]?.split(' ') ?? [])).toEqual(o);
  });
});

describe('assertLoopback', () => {
  it('lets 127.0.0.1 through and refuses any other host', () => {
    expect(() => assertLoopback('MOTO_URL', 'http://127.0.0.1:5000')).not.toThrow();
    expect(() => assertLoopback('MOTO_URL', 'http://localhost:5000')).toThrow(BenchError);
    expect(() => assertLoopback('the kubeconfig server', 'https://10.0.0.1:6443')).toThrow(
      'the kubeconfig server is https://10.0.0.1:6443: this benchmark only talks to 127.0.0.1 (the bed)',
    );
  });
});

describe('figures', () => {
  it('takes the build Job, rollout and test Job out of the wall time: the rest is overhead', () => {
    expect(figures(marks, 4.5)).toEqual({
      total: 2000,
      build: 200,
      rollout: 500,
      test: 1000,
      work: 1700,
      overhead: 300,
      pct: 15,
      toBuild: 100,
      toRollout: 50,
      toTest: 50,
      toSucceeded: 100,
      applyRtt: 4.5,
    });
  });

  it('splits the overhead into gaps between the steps that add up to it', () => {
    const f = figures({ ...marks, buildSeen: 1037.25, testDone: 2911.5 }, 1);
    expect(f.toBuild + f.toRollout + f.toTest + f.toSucceeded).toBeCloseTo(f.overhead, 9);
    expect(f.work + f.overhead).toBeCloseTo(f.total, 9);
  });
});

describe('steps of a run', () => {
  it('lists the steps not seen yet, in pipeline order', () => {
    expect(missingSteps({ applied: 0, buildSeen: 1, succeeded: 5 })).toEqual([
      'build Job Complete',
      'Deployment generation bump',
      'Deployment rolled out',
      'test Job seen',
      'test Job Complete',
    ]);
    expect(missingSteps(marks)).toEqual([]);
  });

  it('says when each step was seen, in seconds after the apply', () => {
    expect(stepsSeen({ applied: 1000, buildSeen: 1100, buildDone: 1312.4 })).toBe(
      'build Job seen +0.100 s, build Job Complete +0.312 s',
    );
    expect(stepsSeen({ applied: 1000 })).toBe('nothing');
  });
});

describe('what the watched objects say', () => {
  it('tells build and test Jobs of a ModelDeployment by their labels', () => {
    const labels = (component: string) => ({
      'app.kubernetes.io/instance': 'md-1',
      'app.kubernetes.io/component': component,
    });
    expect(jobStep(labels('image-build'))).toEqual({
      md: 'md-1',
      step: 'build',
      seen: 'buildSeen',
      done: 'buildDone',
    });
    expect(jobStep(labels('model-test'))).toEqual({
      md: 'md-1',
      step: 'test',
      seen: 'testSeen',
      done: 'testDone',
    });
    expect(jobStep(labels('something-else'))).toBeUndefined();
    expect(jobStep({ 'app.kubernetes.io/component': 'image-build' })).toBeUndefined();
    expect(jobStep(undefined)).toBeUndefined();
  });

  it('finds a condition only while it is True', () => {
    const job = {
      status: {
        conditions: [
          { type: 'Complete', status: 'False' },
          { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' },
        ],
      },
    };
    expect(trueCondition(job, 'Complete')).toBeUndefined();
    expect(trueCondition(job, 'Failed')?.reason).toBe('BackoffLimitExceeded');
    expect(trueCondition({}, 'Failed')).toBeUndefined();
  });

  it('explains a stuck run by its conditions that are not True, and Stalled', () => {
    expect(
      stuckConditions([
        { type: 'Ready', status: 'False', reason: 'Building', message: 'build Job running' },
        { type: 'Reconciling', status: 'True', reason: 'Progressing', message: 'x' },
        { type: 'Stalled', status: 'True', reason: 'ImageMissing' },
      ]),
    ).toBe('Ready=False Building: build Job running; Stalled=True ImageMissing: ');
    expect(stuckConditions(undefined)).toBeUndefined();
  });
});

describe('statistics', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });

  it('gives median, min and max', () => {
    expect(spread([184, 163, 174])).toEqual({ median: 174, min: 163, max: 184 });
  });
});

describe('table', () => {
  it('left-aligns the first column, right-aligns the others, under a rule', () => {
    expect(
      table(
        ['run', 'total', 'overhead %'],
        [
          ['1', '2357', '7.4%'],
          ['10', '812', '12.0%'],
        ],
      ),
    ).toBe(
      [
        'run  total  overhead %',
        '---  -----  ----------',
        '1     2357        7.4%',
        '10     812       12.0%',
      ].join('\n'),
    );
  });
});

describe('report', () => {
  const input = (over: Partial<ReportInput> = {}): ReportInput => ({
    options: { runs: 2, warmup: 1, parallel: false },
    namespace: 'bench-pipeline-abc',
    runs: [
      { label: '1', figures: figures(marks, 4), notes: [] },
      // build +50, rollout -20, test +90 and overhead -20 ms: 100 ms longer in all
      {
        label: '2',
        figures: figures(
          {
            ...marks,
            buildDone: 1350,
            rolloutStart: 1410,
            rolloutDone: 1890,
            testSeen: 1920,
            testDone: 3010,
            succeeded: 3100,
          },
          6,
        ),
        notes: [],
      },
    ],
    watches: [
      {
        path: '/apis/batch/v1/namespaces/bench-pipeline-abc/jobs',
        reconnects: 0,
        relists: 0,
        lastError: undefined,
      },
    ],
    machine: {
      nproc: 2,
      cpu: 'Some CPU',
      os: 'Linux 6.1 x64',
      loadStart: '0.50 0.40 0.30',
      loadEnd: '0.90 0.50 0.35',
      benchNode: 'v24.21.0',
      operatorNode: 'v24.21.0',
      workers: 4,
      k8s: 'v1.34.4',
    },
    ...over,
  });

  it('shows each run, where its overhead goes and the summary', () => {
    const text = report(input());
    expect(text).toContain(
      [
        'Per run (ms):',
        'run  total  build  rollout  test  work  overhead  overhead %',
        '---  -----  -----  -------  ----  ----  --------  ----------',
        '1     2000    200      500  1000  1700       300       15.0%',
        '2     2100    250      480  1090  1820       280       13.3%',
      ].join('\n'),
    );
    expect(text).toContain(
      [
        'run  apply→build Job  build done→rollout  rolled out→test Job  test done→Succeeded',
        '---  ---------------  ------------------  -------------------  -------------------',
        '1                100                  50                   50                  100',
        '2                100                  60                   30                   90',
      ].join('\n'),
    );
    expect(text).toContain(
      [
        'Summary over 2 run(s):',
        '              median    min    max',
        '------------  ------  -----  -----',
        'total ms        2050   2000   2100',
        'work ms         1760   1700   1820',
        '  build ms       225    200    250',
        '  rollout ms     490    480    500',
        '  test ms       1045   1000   1090',
        'overhead ms      290    280    300',
        'overhead %     14.2%  13.3%  15.0%',
      ].join('\n'),
    );
    expect(text).toContain('Create-request round trip (included in total): median 5.0 ms');
    expect(text).toContain(
      '2 measured run(s) after 1 unmeasured warm-up run(s); namespace bench-pipeline-abc; ' +
        'operator: node dist/main.js, LOG_LEVEL=warn, WATCH_NAMESPACES=bench-pipeline-abc',
    );
    expect(text).not.toContain('Notes:');
  });

  it('starts with a blank line and ends with the commands that reproduce it', () => {
    const lines = report(input({ options: { runs: 2, warmup: 0, parallel: true } })).split('\n');
    expect(lines[0]).toBe('');
    expect(lines[2]).toBe(
      "mode: parallel: 2 ModelDeployments applied at once (runs compete for the operator's 4 reconcile " +
        'workers and the bed)',
    );
    expect(lines.slice(-2)).toEqual([
      'Reproduce: npm run build && npm run build:bench && bash test/bed/with-bed.sh node_modules/.bin/node ' +
        'dist-bench/bench/pipelineOverhead.cli.js --runs 2 --warmup 0 --parallel',
      '       or: npm run bench:pipeline -- --runs 2 --warmup 0 --parallel',
    ]);
  });

  it('notes what runs and watches went through that the figures do not show', () => {
    const base = input();
    const text = report({
      ...base,
      runs: [{ ...(base.runs[0] as ReportInput['runs'][number]), notes: ['second build Job md-1-build-x'] }],
      watches: [
        {
          path: '/apis/apps/v1/namespaces/n/deployments',
          reconnects: 2,
          relists: 1,
          lastError: '410 too old',
        },
        { path: '/apis/batch/v1/namespaces/n/jobs', reconnects: 0, relists: 0, lastError: undefined },
      ],
    });
    expect(text).toContain(
      [
        'Notes:',
        '  run 1: second build Job md-1-build-x',
        '  watch /apis/apps/v1/namespaces/n/deployments: 2 reconnect(s), 1 re-list(s) (last error: 410 too old); ' +
          'events during a reconnect arrive late by its duration',
        '',
        'Machine: nproc 2;',
      ].join('\n'),
    );
    expect(text).not.toContain('namespaces/n/jobs');
  });
});
