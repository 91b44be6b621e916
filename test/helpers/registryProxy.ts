// A controllable stand-in for an MLflow server on 127.0.0.1: it forwards to a real one (pass),
// answers 503, holds every request without answering (hang), or stops listening (refuse). Tests
// break "MLflow" through it without touching the shared server of the bed.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Socket } from 'node:net';

export type ProxyMode = 'pass' | '503' | 'hang' | 'refuse';

export class RegistryProxy {
  private readonly server = createServer((req, res) => this.handle(req, res));
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private listening = false;
  private target: URL | undefined;
  mode: ProxyMode = 'pass';
  /** Requests received, whatever the mode. */
  requests = 0;

  constructor(target?: string) {
    this.target = target ? new URL(target) : undefined;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get uri(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(mode: ProxyMode = 'pass'): Promise<this> {
    await this.listen();
    await this.set(mode);
    return this;
  }

  /** Switches the mode; `refuse` closes the port (connection refused), others reopen it. */
  async set(mode: ProxyMode): Promise<void> {
    this.mode = mode;
    if (mode === 'refuse') await this.close();
    else await this.listen();
  }

  async dispose(): Promise<void> {
    await this.close();
  }

  private async listen(): Promise<void> {
    if (this.listening) return;
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
    this.listening = true;
  }

  private async close(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = once(this.server, 'close');
    this.server.close();
    for (const s of this.sockets) s.destroy(); // keep-alive and hanging requests too
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    if (this.mode === 'hang') return; // never answered; closed with the socket
    if (this.mode === '503' || !this.target) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('upstream unavailable');
      return;
    }
    const upstream = httpRequest(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.target.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }
}
