// The body of an MLflow registry webhook delivery, read into the little the operator acts on:
// which model (and version or alias) changed. MLflow sends
//   {"entity": "model_version_alias", "action": "created", "timestamp": "<ISO 8601>", "data": {…}}
// (plus "workspace" when workspaces are on). Prompt, budget-policy and any entity MLflow adds later
// are acknowledged as ignored: they wake nothing. A model-registry entity with an action we do not
// know is refused, so a new kind of registry event shows up as an error instead of being dropped.
import { z } from 'zod';

/** A model-registry change: the model, and the version or alias when the event names one. */
export interface RegistryEvent {
  kind: RegistryEventKind;
  model: string;
  version?: string;
  alias?: string;
}

/** Any other delivery (prompts, budget policies, …): acknowledged, wakes nothing. */
export interface IgnoredEvent {
  kind: 'ignored';
  entity: string;
  action: string;
}

export type WebhookEvent = RegistryEvent | IgnoredEvent;

export type PayloadFailure = 'InvalidJson' | 'InvalidEnvelope' | 'UnknownEvent' | 'InvalidData';

export class PayloadError extends Error {
  override readonly name = 'PayloadError';
  constructor(
    readonly reason: PayloadFailure,
    message: string,
  ) {
    super(message);
  }
}

const Envelope = z.object({
  entity: z.string().regex(/^[a-z][a-z_]{0,63}$/, 'must be a lower-case MLflow entity name'),
  action: z.string().regex(/^[a-z][a-z_]{0,63}$/, 'must be a lower-case MLflow action name'),
  timestamp: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
});

// MLflow sends versions as strings ("3"); a number is taken too, in case a proxy re-encodes.
const Version = z.union([
  z.string().regex(/^[1-9][0-9]{0,18}$/, 'must be a positive integer'),
  z.number().int().positive().transform(String),
]);
const Name = z.string().min(1).max(1024);

const Model = z.object({ name: Name });
const WithVersion = Model.extend({ version: Version });
const WithAlias = Model.extend({ alias: Name });

/** The registry events, as MLflow names them ("<entity>.<action>"), and what each one's data holds. */
const REGISTRY_EVENTS = {
  'registered_model.created': Model,
  'model_version.created': WithVersion,
  'model_version_tag.set': WithVersion,
  'model_version_tag.deleted': WithVersion,
  'model_version_alias.created': WithAlias.extend({ version: Version }),
  'model_version_alias.deleted': WithAlias,
} satisfies Record<string, z.ZodType<{ name: string; version?: string; alias?: string }>>;

export type RegistryEventKind = keyof typeof REGISTRY_EVENTS;
export const REGISTRY_EVENT_KINDS = Object.keys(REGISTRY_EVENTS) as RegistryEventKind[];
const REGISTRY_ENTITIES = new Set(REGISTRY_EVENT_KINDS.map((kind) => kind.split('.')[0]));

/** Reads a delivery body (already verified) into an event; throws PayloadError saying what is wrong. */
export function parseEvent(raw: Buffer | string): WebhookEvent {
  let json: unknown;
  try {
    json = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    throw new PayloadError('InvalidJson', `webhook body is not JSON: ${(err as Error).message}`);
  }
  const envelope = Envelope.safeParse(json);
  if (!envelope.success)
    throw new PayloadError(
      'InvalidEnvelope',
      `webhook body is not an MLflow webhook envelope: ${firstIssue(envelope.error)}`,
    );
  const { entity, action, data } = envelope.data;
  const kind = `${entity}.${action}`;
  if (isRegistryEvent(kind)) return registryEvent(kind, data);
  if (!REGISTRY_ENTITIES.has(entity)) return { kind: 'ignored', entity, action };
  throw new PayloadError(
    'UnknownEvent',
    `unknown MLflow webhook event "${kind}"; the registry events understood are ${REGISTRY_EVENT_KINDS.join(', ')}`,
  );
}

function registryEvent(kind: RegistryEventKind, data: Record<string, unknown>): RegistryEvent {
  const schema: z.ZodType<{ name: string; version?: string; alias?: string }> = REGISTRY_EVENTS[kind];
  const parsed = schema.safeParse(data);
  if (!parsed.success)
    throw new PayloadError(
      'InvalidData',
      `webhook "${kind}" has invalid data: ${firstIssue(parsed.error, 'data')}`,
    );
  const { name, version, alias } = parsed.data;
  return {
    kind,
    model: name,
    ...(version !== undefined && { version }),
    ...(alias !== undefined && { alias }),
  };
}

function isRegistryEvent(kind: string): kind is RegistryEventKind {
  return Object.hasOwn(REGISTRY_EVENTS, kind);
}

function firstIssue(error: z.ZodError, under?: string): string {
  const issue = error.issues[0];
  const path = [...(under ? [under] : []), ...(issue?.path ?? [])].join('.');
  return `${path || '(root)'}: ${issue?.message}`;
}
