import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import {
  isInvalidObject,
  isPatchTestFailure,
  kubeMessageOf,
  rejectionMessageOf,
} from '../../../src/runtime/kubeErrors.js';

const headers = { date: 'Tue, 01 Dec 2026 02:41:50 GMT', 'audit-id': 'f00' };
const api = (code: number, body: unknown) => new ApiException(code, 'HTTP', JSON.stringify(body), headers);

// What the apiserver answered on the test bed (kube-apiserver 1.34).
const patchTestFailed = api(422, {
  kind: 'Status',
  status: 'Failure',
  message: 'the server rejected our request due to an error in our request',
  reason: 'Invalid',
  details: {},
  code: 422,
});
const jobInvalid = (order: number[]) =>
  api(422, {
    kind: 'Status',
    message: 'Job.batch "b" is invalid: [...]',
    reason: 'Invalid',
    details: {
      name: 'b',
      group: 'batch',
      kind: 'Job',
      causes: order.map((i) => ({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "2": must be equal to example.com/r${i} limit of 1`,
        field: 'spec.template.spec.containers[0].resources.requests',
      })),
    },
    code: 422,
  });

describe('apiserver refusals', () => {
  it.each([
    ['a failed JSON patch test', patchTestFailed, true, false],
    ['an invalid Job', jobInvalid([1]), false, true],
    ['a 400', api(400, { kind: 'Status', message: 'bad', reason: 'BadRequest' }), false, true],
    ['a 409', api(409, { kind: 'Status', message: 'exists' }), false, false],
    ['a 500', api(500, { kind: 'Status', message: 'etcd' }), false, false],
    [
      'an Error with code 422 (not an apiserver answer)',
      Object.assign(new Error('x'), { code: 422 }),
      true,
      false,
    ],
  ])('%s: patch test failed %s, invalid object %s', (_, err, testFailed, invalid) => {
    expect(isPatchTestFailure(err)).toBe(testFailed);
    expect(isInvalidObject(err)).toBe(invalid);
  });

  it('rejectionMessageOf lists the causes sorted and once, whatever order the apiserver used', () => {
    const a = rejectionMessageOf(jobInvalid([3, 1, 2, 1]));
    expect(a).toBe(
      'Job.batch "b" is invalid: ' +
        [1, 2, 3]
          .map(
            (i) =>
              `spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be equal to example.com/r${i} limit of 1`,
          )
          .join('; '),
    );
    expect(rejectionMessageOf(jobInvalid([2, 3, 1]))).toBe(a);
  });

  it('kubeMessageOf never returns the header dump', () => {
    expect(kubeMessageOf(patchTestFailed)).toBe(
      'the server rejected our request due to an error in our request',
    );
    expect(kubeMessageOf(new ApiException(503, 'x', 'upstream down', headers))).toBe('HTTP 503');
  });
});
