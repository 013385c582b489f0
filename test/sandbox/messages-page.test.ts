import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { simpleParser } from 'mailparser';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailFolderSender, readMailFolder } from '../../src/notifications/email.js';
import { createTwilioSmsSender } from '../../src/notifications/sms.js';
import { MESSAGES_PAGE_PATH, messagesPageRoutes } from '../../sandbox/messages/routes.js';
import { createTwilioSandbox, newStandInAccount } from '../../sandbox/twilio/index.js';
import { securityHeaders } from '../../src/web/security.js';
import { viewHelpers } from '../../src/web/view-helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('test-mode messages page', () => {
  let dir: string;
  let server: http.Server;
  let base = '';
  let sandbox: ReturnType<typeof createTwilioSandbox>;
  let times = Date.parse('2030-01-01T10:00:00Z');
  const clock = () => new Date((times += 1000));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-mail-'));
    const mail = createMailFolderSender({ dir, from: 'Northern Lights Music <orders@localhost>', clock });
    await mail.send({
      outboxId: 41,
      to: 'fan@example.com',
      subject: 'Your order is paid',
      text: 'Thanks! <b>not bold</b>\nYour code: 123456',
      html: '<h1 id="hello">Thanks</h1><script>parent.document.title = "pwned"</script><img src="https://tracker.example/pixel.png">',
    });
    const account = newStandInAccount();
    sandbox = createTwilioSandbox({ ...account, clock });
    const app = express();
    app.set('views', path.join(ROOT, 'views'));
    app.set('view engine', 'ejs');
    Object.assign(app.locals, viewHelpers, { storeName: 'Test Store', testMode: true, messagesPageUrl: MESSAGES_PAGE_PATH });
    app.use('/sandbox/sms', sandbox.app);
    app.use(securityHeaders({ behindTls: false, formTargets: [] }));
    app.use(messagesPageRoutes({ mailDir: dir, sms: sandbox.control }));
    app.use((_req, res) => void res.status(404).send('not found'));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await createTwilioSmsSender({ apiBase: `${base}/sandbox/sms`, ...account, from: 'NLMusic' }).send({
      outboxId: 42,
      to: '+447700900123',
      text: 'Your sign-in code is 654321',
    });
  });
  afterAll(async () => {
    sandbox?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = async (url: string) => {
    const response = await fetch(`${base}${url}`);
    return { status: response.status, headers: response.headers, text: await response.text() };
  };

  it('writes each email as a real MIME message with text and HTML parts, and a summary beside it', async () => {
    const [summary] = await readMailFolder(dir);
    expect(summary).toMatchObject({ outboxId: 41, to: 'fan@example.com', subject: 'Your order is paid' });
    const eml = fs.readFileSync(path.join(dir, summary!.file));
    const parsed = await simpleParser(eml);
    expect(parsed.subject).toBe('Your order is paid');
    expect(parsed.text).toContain('Your code: 123456');
    expect(parsed.html).toContain('<h1 id="hello">Thanks</h1>');
    expect(parsed.messageId).toBe(summary!.messageId);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('lists emails and texts, newest first, and the banner links to it', async () => {
    const page = await get(MESSAGES_PAGE_PATH);
    expect(page.status).toBe(200);
    const html = parse(page.text);
    const rows = html.querySelectorAll('table.messages tbody tr').map((tr) => tr.querySelectorAll('td').map((td) => td.text.trim()));
    expect(rows).toHaveLength(2);
    expect(rows[0]!.slice(1)).toEqual(['SMS', '+447700900123', 'Your sign-in code is 654321']);
    expect(rows[1]!.slice(1)).toEqual(['Email', 'fan@example.com', 'Your order is paid']);
    expect(html.querySelector('.test-banner a')?.getAttribute('href')).toBe(MESSAGES_PAGE_PATH);
    expect(page.headers.get('cache-control')).toBe('no-store');
  });

  it("shows an email's text escaped and its HTML only inside a sandboxed frame with a strict policy", async () => {
    const list = parse((await get(MESSAGES_PAGE_PATH)).text);
    const link = list
      .querySelectorAll('table.messages a')
      .find((a) => a.text === 'Your order is paid')!
      .getAttribute('href')!;
    const detail = await get(link);
    expect(detail.status).toBe(200);
    expect(detail.text).toContain('Thanks! &lt;b&gt;not bold&lt;/b&gt;');
    const frame = parse(detail.text).querySelector('iframe')!;
    expect(frame.hasAttribute('sandbox')).toBe(true);
    expect(frame.getAttribute('sandbox')).toBe('');
    expect(frame.getAttribute('src')).toBe(`${link}/html`);

    const part = await get(`${link}/html`);
    expect(part.status).toBe(200);
    expect(part.headers.get('content-type')).toMatch(/^text\/html/);
    const policy = part.headers.get('content-security-policy')!;
    expect(policy).toContain("default-src 'none'");
    expect(policy).toMatch(/(^|; )sandbox(;|$)/);
    expect(policy).toContain("frame-ancestors 'self'");
    expect(policy).not.toContain('script-src');
    expect(part.text).toContain('<h1 id="hello">Thanks</h1>');

    const eml = await fetch(`${base}${link}/eml`);
    expect(eml.status).toBe(200);
    expect(eml.headers.get('content-disposition')).toMatch(/^attachment/);
  });

  it('shows a text message', async () => {
    const [sms] = sandbox.control.messages();
    const detail = await get(`${MESSAGES_PAGE_PATH}/sms/${sms!.sid}`);
    expect(detail.status).toBe(200);
    expect(parse(detail.text).querySelector('pre')!.text).toBe('Your sign-in code is 654321');
  });

  it("reads nothing but the mail folder's own files", async () => {
    fs.writeFileSync(path.join(dir, 'secret.json'), '{"subject":"not a message"}');
    for (const url of [
      `${MESSAGES_PAGE_PATH}/email/..%2F..%2F..%2Fetc%2Fpasswd`,
      `${MESSAGES_PAGE_PATH}/email/secret`,
      `${MESSAGES_PAGE_PATH}/email/secret/html`,
      `${MESSAGES_PAGE_PATH}/email/20300101T100000-000Z-outbox-999`,
      `${MESSAGES_PAGE_PATH}/sms/SM${'0'.repeat(32)}`,
      `${MESSAGES_PAGE_PATH}/sms/../../etc`,
    ]) {
      expect((await get(url)).status, url).toBe(404);
    }
  });
});
