// judgeClaim: one row per case of "may this ModelDeployment manage the container?".
import { describe, expect, it } from '@jest/globals';
import {
  judgeClaim,
  type ClaimDecision,
  type ClaimInput,
} from '../../../../src/controller/policies/claim.js';

const target = { name: 'churn-api', container: 'api' };
const input = (extra: Partial<ClaimInput>): ClaimInput => ({
  self: 'churn',
  target,
  holder: undefined,
  holderTarget: undefined,
  ...extra,
});

describe('judgeClaim', () => {
  const table: [string, ClaimInput, ClaimDecision][] = [
    ['no claim: take it', input({}), { kind: 'take', staleHolder: undefined }],
    ['an empty claim: take it', input({ holder: '' }), { kind: 'take', staleHolder: undefined }],
    ['claimed by us: nothing to write', input({ holder: 'churn' }), { kind: 'ours' }],
    [
      'claimed by another that still targets the container: taken',
      input({ holder: 'other', holderTarget: target }),
      { kind: 'taken', holder: 'other' },
    ],
    [
      'claimed by an object that no longer exists (or is being deleted): stale, take it',
      input({ holder: 'gone', holderTarget: undefined }),
      { kind: 'take', staleHolder: 'gone' },
    ],
    [
      'claimed by an object that now targets another Deployment: stale',
      input({ holder: 'other', holderTarget: { name: 'other-api', container: 'api' } }),
      { kind: 'take', staleHolder: 'other' },
    ],
    [
      'claimed by an object that now targets another container: stale',
      input({ holder: 'other', holderTarget: { name: 'churn-api', container: 'sidecar' } }),
      { kind: 'take', staleHolder: 'other' },
    ],
  ];
  it.each(table)('%s', (_, given, expected) => {
    expect(judgeClaim(given)).toEqual(expected);
  });
});
