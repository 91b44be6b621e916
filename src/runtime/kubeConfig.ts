// A KubeConfig whose requests and watches share one undici dispatcher per cluster identity.
// client-node 2.0.1's applySecurityAuthentication re-reads the CA, certificate and key files and
// builds a new undici Agent for every call, so every call (and every watch) paid a new TCP and
// TLS handshake. Here the Agent it builds is swapped for the one already kept for the same
// identity: the server, proxy and TLS settings and the bytes of the CA, certificate and key.
// Those files are still read on every call (as upstream does), so a rotated certificate gives a
// new identity and a new Agent; the old one is closed, letting its requests in flight finish.
// Tokens (projected, exec, OIDC) go in headers per request and are no part of the identity.
// API clients made here resend on 429 (throttledHttp.ts) and, when KUBE_API_QPS is set, wait for a
// token bucket first.
import { createHash } from 'node:crypto';
import {
  bufferFromFileOrString,
  createConfiguration,
  KubeConfig,
  ServerConfiguration,
  type ApiConstructor,
  type ApiType,
  type RequestContext,
} from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';
import { ThrottledHttpLibrary, TokenBucket } from './throttledHttp.js';

/** Client-side flow control (client-go's rest.Config QPS and Burst); qps -1: none. */
export interface KubeClientLimits {
  qps: number;
  burst: number;
}

const USER_AGENT = 'mlflow-model-operator';

export class PooledKubeConfig extends KubeConfig {
  private shared: { identity: string; dispatcher: Dispatcher } | undefined;
  private readonly bucket: TokenBucket | undefined;

  /** Unlimited unless limits are given. */
  constructor(limits: KubeClientLimits = { qps: -1, burst: 1 }) {
    super();
    this.bucket = limits.qps > 0 ? new TokenBucket(limits.qps, limits.burst) : undefined;
  }

  /** API clients whose calls wait for the token bucket and resend on 429 (Retry-After). */
  override makeApiClient<T extends ApiType>(apiClientType: ApiConstructor<T>): T {
    const cluster = this.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const config = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: this },
      httpApi: new ThrottledHttpLibrary(createConfiguration().httpApi, this.bucket),
      promiseMiddleware: [
        {
          pre: async (context) => {
            context.setHeaderParam('User-Agent', USER_AGENT);
            return context;
          },
          post: async (response) => response,
        },
      ],
    });
    return new apiClientType(config);
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher() as Dispatcher | undefined;
    if (fresh === undefined) return; // plain HTTP without TLS settings: undici's global pool
    const identity = this.identity();
    if (this.shared?.identity !== identity) {
      const retired = this.shared?.dispatcher;
      this.shared = { identity, dispatcher: fresh };
      void retired?.close().catch(() => undefined);
      return;
    }
    // Built but never used: it holds no connection, so there is nothing to close.
    context.setDispatcher(this.shared.dispatcher);
  }

  /** Closes the shared dispatcher (at shutdown). */
  async close(): Promise<void> {
    const retired = this.shared?.dispatcher;
    this.shared = undefined;
    await retired?.close();
  }

  /** What a connection depends on: a change of any of it needs another dispatcher. */
  private identity(): string {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    const hash = createHash('sha256');
    hash.update(
      JSON.stringify([cluster?.server, cluster?.proxyUrl, cluster?.skipTLSVerify, cluster?.tlsServerName]),
    );
    for (const bytes of [
      bufferFromFileOrString(cluster?.caFile, cluster?.caData),
      bufferFromFileOrString(user?.certFile, user?.certData),
      bufferFromFileOrString(user?.keyFile, user?.keyData),
    ]) {
      hash.update(String(bytes?.length ?? -1)).update(bytes ?? '');
    }
    return hash.digest('hex');
  }
}
