import { describe, expect, it } from '@jest/globals';
import { parseEvent, PayloadError } from '../../../src/webhooks/payload.js';
import { BODIES } from './fixtures.js';

describe('parseEvent', () => {
  it.each([
    ['modelVersionCreated', { kind: 'model_version.created', model: 'iris-classifier', version: '4' }],
    [
      'aliasCreated',
      { kind: 'model_version_alias.created', model: 'iris-classifier', alias: 'champion', version: '3' },
    ],
    ['aliasDeleted', { kind: 'model_version_alias.deleted', model: 'iris-classifier', alias: 'challenger' }],
    ['tagSet', { kind: 'model_version_tag.set', model: 'iris-classifier', version: '3' }],
    ['tagDeleted', { kind: 'model_version_tag.deleted', model: 'iris-classifier', version: '3' }],
    ['registeredModelCreated', { kind: 'registered_model.created', model: 'fraud-detector' }],
    ['withWorkspace', { kind: 'model_version.created', model: 'iris-classifier', version: '5' }],
    ['promptVersionCreated', { kind: 'ignored', entity: 'prompt_version', action: 'created' }],
  ] as const)('reads %s', (body, event) => {
    expect(parseEvent(Buffer.from(BODIES[body], 'utf8'))).toStrictEqual(event);
  });

  it('ignores entities it does not know, such as ones added by later MLflow releases', () => {
    const body =
      '{"entity": "budget_policy", "action": "exceeded", "timestamp": "2026-11-30T12:00:00+00:00", "data": {}}';
    expect(parseEvent(body)).toEqual({ kind: 'ignored', entity: 'budget_policy', action: 'exceeded' });
  });

  it('keeps names with non-ASCII characters that json.dumps escaped', () => {
    const body =
      '{"entity": "registered_model", "action": "created", "timestamp": "2026-11-30T12:00:00+00:00", ' +
      '"data": {"name": "mod\\u00e8le", "tags": {}, "description": null}}';
    expect(parseEvent(body)).toEqual({ kind: 'registered_model.created', model: 'modèle' });
  });

  it.each([
    ['not JSON', '{"entity": ', 'InvalidJson', /not JSON/],
    ['a JSON array', '[]', 'InvalidEnvelope', /envelope: \(root\)/],
    [
      'no entity',
      '{"action": "created", "timestamp": "t", "data": {}}',
      'InvalidEnvelope',
      /envelope: entity/,
    ],
    [
      'an upper-case entity',
      '{"entity": "MODEL_VERSION", "action": "created", "timestamp": "t", "data": {}}',
      'InvalidEnvelope',
      /entity: must be a lower-case MLflow entity name/,
    ],
    [
      'no timestamp',
      '{"entity": "model_version", "action": "created", "data": {}}',
      'InvalidEnvelope',
      /envelope: timestamp/,
    ],
    [
      'data that is no object',
      '{"entity": "model_version", "action": "created", "timestamp": "t", "data": "x"}',
      'InvalidEnvelope',
      /envelope: data/,
    ],
    [
      'an unknown registry action',
      '{"entity": "model_version", "action": "updated", "timestamp": "t", "data": {"name": "m"}}',
      'UnknownEvent',
      /unknown MLflow webhook event "model_version.updated"; the registry events understood are registered_model.created, /,
    ],
    [
      'a version event without a version',
      '{"entity": "model_version", "action": "created", "timestamp": "t", "data": {"name": "m"}}',
      'InvalidData',
      /"model_version.created" has invalid data: data.version/,
    ],
    [
      'an alias event without an alias',
      '{"entity": "model_version_alias", "action": "created", "timestamp": "t", "data": {"name": "m", "version": "1"}}',
      'InvalidData',
      /data.alias/,
    ],
    [
      'a version that is no number',
      '{"entity": "model_version_tag", "action": "set", "timestamp": "t", "data": {"name": "m", "version": "latest"}}',
      'InvalidData',
      /data.version/,
    ],
    [
      'an empty model name',
      '{"entity": "registered_model", "action": "created", "timestamp": "t", "data": {"name": ""}}',
      'InvalidData',
      /data.name/,
    ],
  ])('refuses %s with a PayloadError', (_what, body, reason, message) => {
    let thrown: unknown;
    try {
      parseEvent(body);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PayloadError);
    expect(thrown).toMatchObject({ reason, message: expect.stringMatching(message) });
  });

  it('takes a numeric version as its string', () => {
    const body =
      '{"entity": "model_version", "action": "created", "timestamp": "t", "data": {"name": "m", "version": 7}}';
    expect(parseEvent(body)).toEqual({ kind: 'model_version.created', model: 'm', version: '7' });
  });
});
