// judgeScan: ECR's answer about an image's scan, the policy, whether the gate started the scan
// and how long it has waited → wait, start, passed, findings or unavailable.
import { describe, expect, it } from '@jest/globals';
import type { ScanAnswer, ScanFinding } from '../../../../src/clients/ecr.js';
import {
  judgeScan,
  type ScanInput,
  type ScanVerdict,
} from '../../../../src/controller/policies/judgeScan.js';

type Scan = Extract<ScanAnswer, { kind: 'scan' }>;

const scan = (status: string | undefined, findings: ScanFinding[] = [], extra: Partial<Scan> = {}): Scan => ({
  kind: 'scan',
  status,
  description: undefined,
  enhanced: false,
  findings,
  severityCounts: {},
  completedAt: status === 'COMPLETE' ? '2025-01-01T00:00:00.000Z' : undefined,
  ...extra,
});
const f = (name: string, severity: string, pkg?: string): ScanFinding => ({
  name,
  severity,
  ...(pkg ? { package: pkg } : {}),
});

const input = (
  answer: ScanAnswer,
  extra: Partial<ScanInput> = {},
  policy: Partial<ScanInput['policy']> = {},
) => ({
  answer,
  policy: { failOn: 'HIGH' as const, timeoutSeconds: 900, ...policy },
  scanStarted: false,
  waitedMs: 1000,
  ...extra,
});

const TIMED_OUT = { waitedMs: 900_000 };

describe('judgeScan: waiting and starting', () => {
  const table: [string, ScanInput, ScanVerdict][] = [
    ['no scan, none started: start one', input({ kind: 'noScan' }), { kind: 'start' }],
    [
      'no scan after the gate started one: wait for ECR to show it',
      input({ kind: 'noScan' }, { scanStarted: true }),
      { kind: 'wait', message: 'waiting for the scan the operator started to show in ECR' },
    ],
    [
      'no scan after the gate started one, past the timeout',
      input({ kind: 'noScan' }, { scanStarted: true, ...TIMED_OUT }),
      {
        kind: 'unavailable',
        message: 'timed out after 900s waiting for the scan (last status none: ECR has no scan of the image)',
      },
    ],
    [
      'no scan and none started, even past the timeout: start (the clock runs from the first look)',
      input({ kind: 'noScan' }, TIMED_OUT),
      { kind: 'start' },
    ],
    ['IN_PROGRESS: wait', input(scan('IN_PROGRESS')), { kind: 'wait', message: 'the scan is IN_PROGRESS' }],
    ['PENDING: wait', input(scan('PENDING')), { kind: 'wait', message: 'the scan is PENDING' }],
    [
      'IN_PROGRESS past the timeout',
      input(scan('IN_PROGRESS'), { waitedMs: 30_001 }, { timeoutSeconds: 30 }),
      { kind: 'unavailable', message: 'timed out after 30s waiting for the scan (last status IN_PROGRESS)' },
    ],
    [
      'ACTIVE (continuous scanning) without findings yet: wait',
      input(scan('ACTIVE', [], { enhanced: true })),
      { kind: 'wait', message: 'the scan is ACTIVE but ECR has reported no results yet' },
    ],
    [
      'ACTIVE without findings past the timeout',
      input(scan('ACTIVE'), TIMED_OUT),
      {
        kind: 'unavailable',
        message: 'timed out after 900s waiting for the scan (last status ACTIVE, no results)',
      },
    ],
    [
      'COMPLETE with nothing at all (enhanced results not in yet, aws/aws-sdk#289): wait',
      input(scan('COMPLETE', [], { completedAt: undefined })),
      { kind: 'wait', message: 'the scan is COMPLETE but ECR has reported no results yet' },
    ],
  ];
  it.each(table)('%s', (_name, given, expected) => {
    expect(judgeScan(given)).toEqual(expected);
  });
});

describe('judgeScan: findings', () => {
  const table: [string, ScanInput, ScanVerdict][] = [
    [
      'COMPLETE and clean',
      input(scan('COMPLETE')),
      { kind: 'passed', counts: {}, ignored: 0, message: 'no finding at or above HIGH' },
    ],
    [
      'findings below the bar pass, counted',
      input(scan('COMPLETE', [f('CVE-1', 'MEDIUM'), f('CVE-2', 'LOW'), f('CVE-3', 'MEDIUM')])),
      {
        kind: 'passed',
        counts: { MEDIUM: 2, LOW: 1 },
        ignored: 0,
        message: 'no finding at or above HIGH (2 MEDIUM, 1 LOW)',
      },
    ],
    [
      'findings at or above the bar fail, the worst named first',
      input(
        scan('COMPLETE', [
          f('CVE-2024-3', 'HIGH'),
          f('CVE-2024-1', 'CRITICAL', 'openssl'),
          f('CVE-2024-2', 'CRITICAL'),
          f('CVE-2024-4', 'LOW'),
        ]),
      ),
      {
        kind: 'findings',
        counts: { CRITICAL: 2, HIGH: 1, LOW: 1 },
        ignored: 0,
        message: '2 CRITICAL, 1 HIGH at or above HIGH (CVE-2024-1 in openssl, CVE-2024-2, CVE-2024-3)',
      },
    ],
    [
      'ignored findings do not count, whatever their case',
      input(
        scan('COMPLETE', [f('CVE-2024-1', 'CRITICAL'), f('CVE-2024-2', 'MEDIUM')]),
        {},
        { ignore: ['cve-2024-1'] },
      ),
      {
        kind: 'passed',
        counts: { MEDIUM: 1 },
        ignored: 1,
        message: 'no finding at or above HIGH (1 MEDIUM); 1 ignored',
      },
    ],
    [
      'an ignore list that leaves some: the rest fail, the ignored counted',
      input(
        scan('COMPLETE', [
          f('CVE-1', 'CRITICAL'),
          f('CVE-2', 'CRITICAL'),
          f('CVE-3', 'HIGH'),
          f('CVE-4', 'HIGH'),
        ]),
        {},
        { ignore: ['CVE-1', 'CVE-3', 'CVE-9'] },
      ),
      {
        kind: 'findings',
        counts: { CRITICAL: 1, HIGH: 1 },
        ignored: 2,
        message: '1 CRITICAL, 1 HIGH at or above HIGH (CVE-2, CVE-4); 2 ignored',
      },
    ],
    [
      'failOn CRITICAL lets HIGH through',
      input(scan('COMPLETE', [f('CVE-1', 'HIGH')]), {}, { failOn: 'CRITICAL' }),
      {
        kind: 'passed',
        counts: { HIGH: 1 },
        ignored: 0,
        message: 'no finding at or above CRITICAL (1 HIGH)',
      },
    ],
    [
      'failOn INFORMATIONAL fails on anything ranked',
      input(scan('COMPLETE', [f('CVE-1', 'INFORMATIONAL')]), {}, { failOn: 'INFORMATIONAL' }),
      {
        kind: 'findings',
        counts: { INFORMATIONAL: 1 },
        ignored: 0,
        message: '1 INFORMATIONAL at or above INFORMATIONAL (CVE-1)',
      },
    ],
    [
      'UNDEFINED and UNTRIAGED never fail',
      input(
        scan('ACTIVE', [f('CVE-1', 'UNDEFINED'), f('GHSA-1', 'UNTRIAGED')]),
        {},
        { failOn: 'INFORMATIONAL' },
      ),
      {
        kind: 'passed',
        counts: { UNDEFINED: 1, UNTRIAGED: 1 },
        ignored: 0,
        message: 'no finding at or above INFORMATIONAL (1 UNDEFINED, 1 UNTRIAGED)',
      },
    ],
    [
      'ACTIVE with enhanced findings is judged',
      input(scan('ACTIVE', [f('CVE-9', 'CRITICAL', 'glibc')], { enhanced: true })),
      {
        kind: 'findings',
        counts: { CRITICAL: 1 },
        ignored: 0,
        message: '1 CRITICAL at or above HIGH (CVE-9 in glibc)',
      },
    ],
    [
      'COMPLETE past the timeout is still judged: the answer is there',
      input(scan('COMPLETE', [f('CVE-1', 'LOW')]), TIMED_OUT),
      { kind: 'passed', counts: { LOW: 1 }, ignored: 0, message: 'no finding at or above HIGH (1 LOW)' },
    ],
    [
      'findings ECR counts but does not list count, and cannot be ignored',
      input(
        scan('COMPLETE', [f('CVE-1', 'HIGH')], { severityCounts: { HIGH: 3, LOW: 1 } }),
        {},
        { ignore: ['CVE-1'] },
      ),
      {
        kind: 'findings',
        counts: { HIGH: 2, LOW: 1 },
        ignored: 1,
        message: '2 HIGH at or above HIGH; 1 ignored; 3 counted by ECR but not listed',
      },
    ],
    [
      'counts only (no list) are results too',
      input(scan('ACTIVE', [], { severityCounts: { MEDIUM: 1, UNTRIAGED: 1 } })),
      {
        kind: 'passed',
        counts: { MEDIUM: 1, UNTRIAGED: 1 },
        ignored: 0,
        message: 'no finding at or above HIGH (1 MEDIUM, 1 UNTRIAGED); 2 counted by ECR but not listed',
      },
    ],
  ];
  it.each(table)('%s', (_name, given, expected) => {
    expect(judgeScan(given)).toEqual(expected);
  });

  it('names at most five findings, each once, and says how many more', () => {
    const findings = ['CVE-1', 'CVE-2', 'CVE-3', 'CVE-4', 'CVE-5', 'CVE-6', 'CVE-7'].map((n) => f(n, 'HIGH'));
    const verdict = judgeScan(input(scan('COMPLETE', [...findings, f('CVE-1', 'HIGH')])));
    expect(verdict).toMatchObject({
      kind: 'findings',
      message: '8 HIGH at or above HIGH (CVE-1, CVE-2, CVE-3, CVE-4, CVE-5, 2 more)',
    });
  });
});

describe('judgeScan: no findings will come', () => {
  it.each([
    ['FAILED', 'The scan failed.'],
    ['UNSUPPORTED_IMAGE', 'The operating system and/or package manager are not supported.'],
    ['FINDINGS_UNAVAILABLE', undefined],
    ['SCAN_ELIGIBILITY_EXPIRED', 'The configured scan duration has lapsed.'],
    ['LIMIT_EXCEEDED', undefined],
    ['IMAGE_ARCHIVED', undefined],
    ['SOMETHING_NEW', 'a status ECR added later'],
  ])('%s: unavailable, with ECR description', (status, description) => {
    expect(judgeScan(input(scan(status, [], { description })))).toEqual({
      kind: 'unavailable',
      message: `the scan is ${status}${description ? `: ${description}` : ''}`,
    });
  });

  it('no status at all: unavailable', () => {
    expect(judgeScan(input(scan(undefined)))).toEqual({
      kind: 'unavailable',
      message: 'the scan is unknown',
    });
  });

  it('FAILED with findings listed is still unavailable: a failed scan is no verdict', () => {
    expect(judgeScan(input(scan('FAILED', [f('CVE-1', 'LOW')])))).toMatchObject({ kind: 'unavailable' });
  });
});
