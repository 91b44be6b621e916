// Prometheus HTTP API client over undici: one instant query, answered as one number. Every
// response is validated with zod; every failure becomes a PrometheusError whose kind says whether
// the query itself is wrong (the spec must change) or Prometheus is not answering (try again).
import { Agent, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { networkFailureWords } from '../runtime/errors.js';

export type PrometheusErrorKind = 'Unreachable' | 'ServerError' | 'BadQuery' | 'InvalidResponse';

export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
  constructor(
    readonly kind: PrometheusErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const Sample = z.tuple([z.number(), z.string()]);
const QueryResponse = z.object({
  status: z.enum(['success', 'error']),
  error: z.string().optional(),
  data: z
    .discriminatedUnion('resultType', [
      z.object({ resultType: z.literal('scalar'), result: Sample }),
      z.object({ resultType: z.literal('vector'), result: z.array(z.object({ value: Sample })) }),
      z.object({ resultType: z.literal('matrix'), result: z.array(z.unknown()) }),
      z.object({ resultType: z.literal('string'), result: z.unknown() }),
    ])
    .optional(),
});

const MAX_BODY_BYTES = 1024 * 1024;
let agent: Agent | undefined;

/** The value of an instant query: a number, or undefined when the query has no result. */
export async function queryInstant(
  address: string,
  query: string,
  options: { timeoutMs: number; dispatcher?: Dispatcher },
): Promise<number | undefined> {
  const url = `${address.replace(/\/+$/, '')}/api/v1/query?${new URLSearchParams({ query })}`;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: AbortSignal.timeout(options.timeoutMs),
      dispatcher: options.dispatcher ?? (agent ??= new Agent({ keepAliveTimeout: 30_000 })),
    });
  } catch (err) {
    throw new PrometheusError(
      'Unreachable',
      `cannot reach Prometheus at ${address}: ${networkFailureWords(err) ?? (err as Error).message}`,
      { cause: err },
    );
  }
  const text = await res.body.text();
  if (text.length > MAX_BODY_BYTES)
    throw new PrometheusError(
      'InvalidResponse',
      `Prometheus at ${address} answered more than ${MAX_BODY_BYTES} bytes`,
    );
  let body: z.infer<typeof QueryResponse>;
  try {
    body = QueryResponse.parse(JSON.parse(text));
  } catch {
    if (res.statusCode >= 500)
      throw new PrometheusError('ServerError', `Prometheus at ${address} answered ${res.statusCode}`);
    throw new PrometheusError(
      'InvalidResponse',
      `Prometheus at ${address} answered ${res.statusCode} with a body that is not its query API's JSON`,
    );
  }
  if (body.status === 'error' || res.statusCode >= 400) {
    const said = `Prometheus refused the query (${res.statusCode}): ${body.error ?? 'no reason given'}`;
    throw new PrometheusError(
      res.statusCode === 400 || res.statusCode === 422 ? 'BadQuery' : 'ServerError',
      said,
    );
  }
  const data = body.data;
  if (data?.resultType === 'scalar') return Number(data.result[1]);
  if (data?.resultType === 'vector') return data.result[0] ? Number(data.result[0].value[1]) : undefined;
  throw new PrometheusError(
    'BadQuery',
    `the query returns a ${data?.resultType ?? 'nothing'}, not one number: make it an instant vector or scalar`,
  );
}
