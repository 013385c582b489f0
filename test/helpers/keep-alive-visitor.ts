import http from 'node:http';
import { parse } from 'node-html-parser';

export interface KeepAliveAnswer {
  at: number;
  method: string;
  path: string;
  status: number;
  /** The start of the body, kept for answers a test did not expect. */
  excerpt?: string;
}

/**
 * A visitor whose requests all travel on one kept-alive TCP connection (node's http.Agent with
 * keepAlive and one socket), as a browser or a reverse proxy reuses its connections: it keeps its
 * cookies and the CSRF token of the last page, and counts the connections it had to open.
 * A connection the server drops shows as a request failing with ECONNRESET or "socket hang up",
 * or as one more connection opened.
 */
export class KeepAliveVisitor {
  readonly agent: http.Agent;
  connectionsOpened = 0;
  private cookies = new Map<string, string>();
  private csrf: string | undefined;

  constructor(readonly baseUrl: string) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const create = this.agent.createConnection.bind(this.agent) as (...args: unknown[]) => unknown;
    (this.agent as unknown as { createConnection: (...args: unknown[]) => unknown }).createConnection = (...args: unknown[]) => {
      this.connectionsOpened++;
      return create(...args);
    };
  }

  get(path: string): Promise<KeepAliveAnswer> {
    return this.request('GET', path);
  }

  post(path: string, form: Record<string, string>): Promise<KeepAliveAnswer> {
    return this.request('POST', path, new URLSearchParams({ ...(this.csrf ? { _csrf: this.csrf } : {}), ...form }).toString());
  }

  close(): void {
    this.agent.destroy();
  }

  private request(method: string, path: string, body?: string): Promise<KeepAliveAnswer> {
    const url = new URL(path, this.baseUrl);
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const headers: http.OutgoingHttpHeaders = { ...(cookie ? { cookie } : {}) };
    if (body !== undefined)
      Object.assign(headers, {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': Buffer.byteLength(body),
        origin: this.baseUrl,
      });
    return new Promise((resolve, reject) => {
      const req = http.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          for (const line of res.headers['set-cookie'] ?? []) {
            const pair = line.split(';')[0]!;
            this.cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
          }
          const token = parse(Buffer.concat(chunks).toString('utf8')).querySelector('input[name="_csrf"]')?.getAttribute('value');
          if (token) this.csrf = token;
          const status = res.statusCode ?? 0;
          const excerpt = [200, 303, 503].includes(status)
            ? undefined
            : Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').slice(-1500);
          resolve({ at: Date.now(), method, path, status, ...(excerpt ? { excerpt } : {}) });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** A request the server dropped: the connection reset or closed under it. */
export function isDroppedConnection(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === 'ECONNRESET' || e?.code === 'EPIPE' || /socket hang up/i.test(e?.message ?? '');
}
