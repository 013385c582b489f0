import { parse, type HTMLElement } from 'node-html-parser';

export interface Page {
  status: number;
  location: string | null;
  text: string;
  html: HTMLElement;
}

/**
 * A shopper's browser without the browser: keeps cookies per origin, follows nothing on its own,
 * and posts forms with the CSRF token of the last page it saw.
 */
export class Shopper {
  private cookies = new Map<string, string>();
  private csrf: string | undefined;

  constructor(readonly baseUrl: string) {}

  async get(path: string): Promise<Page> {
    return this.request(path, { method: 'GET' });
  }

  /** Posts a form; the CSRF token comes from the last page unless the form names its own. */
  async post(path: string, form: Record<string, string>): Promise<Page> {
    const body = new URLSearchParams({ ...(this.csrf ? { _csrf: this.csrf } : {}), ...form });
    // Browsers name the page's origin on every form post.
    return this.request(path, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: this.baseUrl },
    });
  }

  /** Follows redirects on the store's own origin; stops at the first one that leaves it. */
  async follow(page: Page, limit = 5): Promise<Page> {
    let current = page;
    for (let i = 0; i < limit && current.location && this.isOwn(current.location); i++) current = await this.get(current.location);
    return current;
  }

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  setCookie(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  private isOwn(location: string): boolean {
    return location.startsWith('/') || location.startsWith(this.baseUrl);
  }

  private async request(path: string, init: RequestInit): Promise<Page> {
    const url = path.startsWith('http') ? path : this.baseUrl + path;
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    const text = await response.text();
    const html = parse(text);
    const token = html.querySelector('input[name="_csrf"]')?.getAttribute('value');
    if (token) this.csrf = token;
    return { status: response.status, location: response.headers.get('location'), text, html };
  }
}
