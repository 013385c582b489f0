import type { Response } from 'express';

/** Escapes text for HTML content and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Sends a stand-in's own page (a payment provider's) with the headers a provider's page carries: its CSP, no caching, no referrer. */
export function sendStandInPage(res: Response, status: number, html: string, contentSecurityPolicy: string): void {
  res.status(status).set({
    'Content-Security-Policy': contentSecurityPolicy,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  });
  res.type('html').send(html);
}
