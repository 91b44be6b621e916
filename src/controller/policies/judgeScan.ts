// What the scan gate makes of ECR's answer about an image's scan. Pure; table-tested. The I/O
// (DescribeImageScanFindings, StartImageScan) stays in steps/scanImage.ts.
import { SEVERITIES, type ScanSpec } from '../../api/v1alpha1/pipeline.js';
import type { ScanAnswer, ScanFinding } from '../../clients/ecr.js';

export interface ScanInput {
  /** ECR's answer for the image, all pages read. */
  answer: ScanAnswer;
  policy: Pick<ScanSpec, 'failOn' | 'ignore' | 'timeoutSeconds'>;
  /** The operator already started this image's scan (status.scan.scanStarted). */
  scanStarted: boolean;
  /** How long the gate has waited for this image (since status.scan.startedAt). */
  waitedMs: number;
}

/** Findings by severity, most severe first, after `ignore`. */
export type SeverityCounts = Record<string, number>;

export type ScanVerdict =
  | { kind: 'wait'; message: string } // the scan has not given its findings yet
  | { kind: 'start' } // no scan of the image: start one
  | { kind: 'passed'; counts: SeverityCounts; ignored: number; message: string }
  | { kind: 'findings'; counts: SeverityCounts; ignored: number; message: string }
  | { kind: 'unavailable'; message: string }; // no findings will come: onScanError decides

/** How many worst findings a message names. */
const NAMED_FINDINGS = 5;

export function judgeScan({ answer, policy, scanStarted, waitedMs }: ScanInput): ScanVerdict {
  const waiting = (message: string, lastStatus: string): ScanVerdict =>
    waitedMs >= policy.timeoutSeconds * 1000
      ? {
          kind: 'unavailable',
          message: `timed out after ${policy.timeoutSeconds}s waiting for the scan (last status ${lastStatus})`,
        }
      : { kind: 'wait', message };

  if (answer.kind === 'noScan') {
    if (!scanStarted) return { kind: 'start' };
    return waiting(
      'waiting for the scan the operator started to show in ECR',
      'none: ECR has no scan of the image',
    );
  }
  const status = answer.status ?? 'unknown';
  switch (answer.status) {
    case 'IN_PROGRESS':
    case 'PENDING':
      return waiting(`the scan is ${status}`, status);
    case 'COMPLETE':
    case 'ACTIVE':
      if (hasResults(answer)) return judgeFindings(answer, policy);
      // Enhanced scanning can say COMPLETE before its findings arrive (aws/aws-sdk#289), and
      // continuous scanning (ACTIVE) says nothing else until Inspector reports.
      return waiting(`the scan is ${status} but ECR has reported no results yet`, `${status}, no results`);
    default: {
      const why = answer.description ? `: ${answer.description}` : '';
      return { kind: 'unavailable', message: `the scan is ${status}${why}` };
    }
  }
}

/** Whether ECR gave results: findings, counts, or a completion time (a clean basic scan has
 * only that). */
function hasResults(answer: Extract<ScanAnswer, { kind: 'scan' }>): boolean {
  return (
    answer.findings.length > 0 ||
    Object.values(answer.severityCounts).some((n) => n > 0) ||
    answer.completedAt !== undefined
  );
}

function judgeFindings(
  answer: Extract<ScanAnswer, { kind: 'scan' }>,
  policy: ScanInput['policy'],
): ScanVerdict {
  const ignoreNames = new Set((policy.ignore ?? []).map((name) => name.toUpperCase()));
  const kept = answer.findings.filter((f) => !ignoreNames.has(f.name.toUpperCase()));
  const ignored = answer.findings.length - kept.length;
  const counts = countBySeverity(kept);
  // Findings ECR counts but does not list have no name to ignore them by: they count.
  const listed = countBySeverity(answer.findings);
  let unlisted = 0;
  for (const [severity, total] of Object.entries(answer.severityCounts)) {
    const missing = total - (listed[severity] ?? 0);
    if (missing > 0) {
      counts[severity] = (counts[severity] ?? 0) + missing;
      unlisted += missing;
    }
  }
  const bar = rank(policy.failOn);
  const failing = Object.entries(counts).filter(([severity]) => rank(severity) >= bar);
  const notes = [
    ...(ignored > 0 ? [`${ignored} ignored`] : []),
    ...(unlisted > 0 ? [`${unlisted} counted by ECR but not listed`] : []),
  ];
  const tail = notes.length > 0 ? `; ${notes.join('; ')}` : '';
  const sorted = sortCounts(counts);
  if (failing.length === 0) {
    const found = Object.keys(sorted).length > 0 ? ` (${describeCounts(sorted)})` : '';
    return {
      kind: 'passed',
      counts: sorted,
      ignored,
      message: `no finding at or above ${policy.failOn}${found}${tail}`,
    };
  }
  const worst = worstNames(kept, bar);
  const named = worst.length > 0 ? ` (${worst.join(', ')})` : '';
  return {
    kind: 'findings',
    counts: sorted,
    ignored,
    message: `${describeCounts(Object.fromEntries(failing))} at or above ${policy.failOn}${named}${tail}`,
  };
}

/** Place in SEVERITIES, least severe first; -1 (never fails) for UNDEFINED, UNTRIAGED, others. */
const rank = (severity: string): number => (SEVERITIES as readonly string[]).indexOf(severity);

function countBySeverity(findings: readonly ScanFinding[]): SeverityCounts {
  const counts: SeverityCounts = {};
  for (const f of findings) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  return counts;
}

/** Most severe first, so status and messages read the same every time. */
const sortCounts = (counts: SeverityCounts): SeverityCounts =>
  Object.fromEntries(
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => rank(b) - rank(a) || a.localeCompare(b)),
  );

const describeCounts = (counts: SeverityCounts): string =>
  Object.entries(sortCounts(counts))
    .map(([severity, n]) => `${n} ${severity}`)
    .join(', ');

/** The names of the worst findings at or above the bar, each once, with a count of the rest. */
function worstNames(findings: readonly ScanFinding[], bar: number): string[] {
  const names = [
    ...new Set(
      findings
        .filter((f) => rank(f.severity) >= bar)
        .sort((a, b) => rank(b.severity) - rank(a.severity) || a.name.localeCompare(b.name))
        .map((f) => (f.package ? `${f.name} in ${f.package}` : f.name)),
    ),
  ];
  const rest = names.length - NAMED_FINDINGS;
  return rest > 0 ? [...names.slice(0, NAMED_FINDINGS), `${rest} more`] : names;
}
