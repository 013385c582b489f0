import http from 'node:http';

/**
 * A lean HTTP client for virtual shoppers: a cookie jar, the CSRF token of the last page, and
 * no HTML parsing (a regular expression finds the token), so the load generator stays light.
 */
export interface Answer {
  status: number;
  location: string | undefined;
  text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const TOKEN = /name="_csrf" value="([^"]+)"/;

export class VirtualShopper {
  private cookies = new Map<string, string>();
  csrf: string | undefined;

  constructor(readonly baseUrl: string) {}

  get(path: string): Promise<Answer> {
    return this.send('GET', path);
  }

  post(path: string, form: Record<string, string>): Promise<Answer> {
    const body = new URLSearchParams({ ...(this.csrf ? { _csrf: this.csrf } : {}), ...form }).toString();
    return this.send('POST', path, body);
  }

  /** Reads an answer's body as a count of bytes only (downloads). */
  download(path: string): Promise<{ status: number; bytes: number }> {
    return new Promise((resolve, reject) => {
      const req = http.get(new URL(path, this.baseUrl), { agent, headers: this.headers() }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode!, bytes }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  /** The Cookie header this shopper sends (to hand its session to a load generator). */
  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const cookie = this.cookieHeader();
    return { ...extra, ...(cookie ? { cookie } : {}) };
  }

  private send(method: string, path: string, body?: string): Promise<Answer> {
    const headers = this.headers(
      body === undefined
        ? {}
        : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)), origin: this.baseUrl },
    );
    return new Promise((resolve, reject) => {
      const req = http.request(new URL(path, this.baseUrl), { method, agent, headers }, (res) => {
        for (const line of res.headers['set-cookie'] ?? []) {
          const pair = line.split(';')[0]!;
          const eq = pair.indexOf('=');
          this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const token = TOKEN.exec(text)?.[1];
          if (token) this.csrf = token;
          resolve({ status: res.statusCode!, location: res.headers.location, text });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}

export function expectStatus(answer: Answer, status: number, step: string): Answer {
  if (answer.status !== status)
    throw new Error(`${step}: expected ${status}, got ${answer.status} ${answer.text.slice(0, 200).replace(/\s+/g, ' ')}`);
  return answer;
}

export function percentiles(times: number[]): { p50: number; p99: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN) * 10) / 10;
  return { p50: at(0.5), p99: at(0.99) };
}
