// The scale benchmark's pure parts: the apiserver's write count, metric sums, percentiles,
// options, /proc parsing and the report.
import { describe, expect, it } from '@jest/globals';
import { establishedTo, parseCpuTicks, parseRssMiB } from '../../../bench/procStats.js';
import {
  apiserverWrites,
  DEFAULTS,
  metricSum,
  parseScaleOptions,
  percentile,
  renderScaleReport,
  scaleArgs,
} from '../../../bench/scale.lib.js';

describe('apiserverWrites', () => {
  const text = [
    '# HELP apiserver_request_total Counter of apiserver requests',
    'apiserver_request_total{code="201",component="apiserver",group="",resource="events",scope="resource",subresource="",verb="POST",version="v1"} 7',
    'apiserver_request_total{code="200",component="apiserver",group="mlops.healthpredict.io",resource="modeldeployments",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 5',
    'apiserver_request_total{code="200",component="apiserver",group="mlops.healthpredict.io",resource="modeldeployments",scope="namespace",subresource="",verb="LIST",version="v1alpha1"} 100',
    'apiserver_request_total{code="200",component="apiserver",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 40',
  ].join('\n');

  it('counts writes to the operator’s resources only', () => {
    expect(apiserverWrites(text)).toEqual({ status: 5, events: 7, other: 0 });
  });
});

describe('metricSum', () => {
  it('sums every series of a metric and nothing else', () => {
    const text = 'm_count{a="1"} 2\nm_count{a="2"} 3\nm_count_other 9\nm_count 1\n';
    expect(metricSum(text, 'm_count')).toBe(6);
  });
});

describe('percentile', () => {
  it('by nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 50), percentile(xs, 99), percentile(xs, 100)]).toEqual([50, 99, 100]);
    expect(percentile([3], 99)).toBe(3);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('options', () => {
  it('defaults, overrides and the command that reproduces them', () => {
    expect(parseScaleOptions([])).toEqual(DEFAULTS);
    const o = parseScaleOptions(['--sizes', '100,3000', '--no-airflow']);
    expect(o).toMatchObject({ sizes: [100, 3000], airflow: false });
    expect(scaleArgs(o as typeof DEFAULTS)).toBe('--sizes 100,3000 --no-airflow');
    expect(() => parseScaleOptions(['--sizes', '0'])).toThrow(/whole number of at least 1/);
    expect(() => parseScaleOptions(['--what'])).toThrow(/unknown option/);
  });
});

describe('/proc parsing', () => {
  it('VmRSS in MiB', () => {
    expect(parseRssMiB('Name:\tnode\nVmRSS:\t  204800 kB\n')).toBe(200);
  });
  it('utime + stime, with spaces in the command name', () => {
    const stat = '42 (node main) S 1 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0';
    expect(parseCpuTicks(stat)).toBe(300);
  });
  it('established connections to a port', () => {
    const table = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1111 1',
      '   1: 0100007F:9C41 0100007F:1F90 06 00000000:00000000 00:00000000 00000000     0        0 2222 1',
      '   2: 0100007F:9C42 0100007F:1F91 01 00000000:00000000 00:00000000 00000000     0        0 3333 1',
    ].join('\n');
    expect([...establishedTo(table, 8080)]).toEqual(['1111']);
  });
});

describe('renderScaleReport', () => {
  it('prints every figure with the ratios and the command', () => {
    const text = renderScaleReport(
      {
        options: DEFAULTS,
        nodeOptions: '--max-old-space-size=160',
        loadStart: '1.00 1.00 1.00',
        loadEnd: '2.00 1.50 1.10',
        machine: '2 CPUs',
        coldStarts: [
          {
            n: 1000,
            cycle: 1,
            readySeconds: 12.3,
            peakRssMiB: 190,
            steadyRssMiB: 150,
            coldMlflowRequests: 10,
            coldStatusWrites: 1000,
            coldEvents: 1000,
            idleWrites: 0,
            idleMlflowRequests: 10,
            apiserverConnections: 1,
          },
        ],
        latencies: [
          { mode: 'polling', burst: true, samplesMs: [15_000, 20_000] },
          { mode: 'webhook', burst: false, samplesMs: [150, 200] },
        ],
        pipeline: {
          operatorMs: [2000],
          overheadMs: [100],
          operatorCpuSeconds: 0.5,
          airflow: { ms: [8000], cpuSeconds: 2, version: '3.3.2' },
        },
      },
      'npm run bench',
    );
    expect(text).toMatch(/1000 +1 +12\.3 +190 +150/);
    expect(text).toContain('webhook is 100× faster at p50');
    expect(text).toContain('the operator is 4.0× faster than the Airflow DAG');
    expect(text).toContain('4.0× less CPU per run');
    expect(text).toContain('Reproduce: npm run bench');
  });
});
