/**
 * The test-mode messages page: what the store would have sent, for a person trying the store out.
 * Emails come from the local mail folder (DATA_DIR/mail, written by the folder sender in
 * src/notifications/email.ts), texts from the SMS stand-in. Served only while at least one of the
 * two stand-ins is in use, which production never allows.
 *
 * An email's HTML part is shown in an iframe with the `sandbox` attribute, from a route of its
 * own whose Content-Security-Policy forbids scripts, connections, forms and every remote load
 * (inline styles and data: images only), so whatever the HTML says it cannot act.
 */
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { readMailFolder, type FolderMessage } from '../../src/notifications/email.js';
import type { TwilioSandboxControl } from '../twilio/index.js';

export const MESSAGES_PAGE_PATH = '/sandbox/messages';

/** The folder sender's file names: 20260101T120000-000Z-outbox-42 (.json/.eml). Nothing else is ever read. */
const FILE_NAME = /^\d{8}T\d{6}-\d{3}Z-outbox-\d+$/;
const SMS_SID = /^SM[0-9a-f]{32}$/;
const LISTED = 200;

/** The HTML part's own policy: nothing runs, nothing loads from anywhere, and only our pages may frame it. */
const HTML_PART_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox";

export interface MessagesPageOptions {
  /** The local mail folder, or null when email goes to a real SMTP server. */
  mailDir: string | null;
  /** The SMS stand-in, or null when texts go to Twilio. */
  sms: TwilioSandboxControl | null;
}

interface ListedMessage {
  channel: 'email' | 'sms';
  href: string;
  to: string;
  subject: string;
  date: string;
}

export function messagesPageRoutes({ mailDir, sms }: MessagesPageOptions): express.Router {
  const router = express.Router();
  const page = (res: express.Response) => res.set('Cache-Control', 'no-store').set('X-Robots-Tag', 'noindex');

  router.get(MESSAGES_PAGE_PATH, async (_req, res) => {
    const emails = mailDir ? await readMailFolder(mailDir, LISTED) : [];
    const texts = sms ? sms.messages().slice(-LISTED) : [];
    const messages: ListedMessage[] = [
      ...emails.map((m) => ({
        channel: 'email' as const,
        href: `${MESSAGES_PAGE_PATH}/email/${m.file.replace(/\.eml$/, '')}`,
        to: m.to,
        subject: m.subject,
        date: m.date,
      })),
      ...texts.map((m) => ({
        channel: 'sms' as const,
        href: `${MESSAGES_PAGE_PATH}/sms/${m.sid}`,
        to: m.to,
        subject: firstLine(m.body),
        date: m.receivedAt,
      })),
    ]
      .sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0))
      .slice(0, LISTED);
    page(res).render('sandbox/messages', {
      title: 'Messages sent in test mode',
      robots: 'noindex',
      messages,
      mailLocal: mailDir !== null,
      smsLocal: sms !== null,
    });
  });

  router.get(`${MESSAGES_PAGE_PATH}/email/:name`, async (req, res, next) => {
    const message = await emailNamed(mailDir, req.params.name);
    if (!message) return next();
    page(res).render('sandbox/message', {
      title: message.subject,
      robots: 'noindex',
      message: {
        channel: 'email',
        to: message.to,
        from: message.from,
        subject: message.subject,
        date: message.date,
        text: message.text,
        hasHtml: Boolean(message.html),
        messageId: message.messageId,
        outboxId: message.outboxId,
      },
      base: `${MESSAGES_PAGE_PATH}/email/${req.params.name}`,
    });
  });

  router.get(`${MESSAGES_PAGE_PATH}/email/:name/html`, async (req, res, next) => {
    const message = await emailNamed(mailDir, req.params.name);
    if (!message?.html) return next();
    page(res)
      .set('Content-Security-Policy', HTML_PART_POLICY)
      .set('X-Frame-Options', 'SAMEORIGIN')
      .set('X-Content-Type-Options', 'nosniff')
      .set('Referrer-Policy', 'no-referrer')
      .type('html')
      .send(message.html);
  });

  router.get(`${MESSAGES_PAGE_PATH}/email/:name/eml`, async (req, res, next) => {
    if (!mailDir || !FILE_NAME.test(req.params.name)) return next();
    const file = path.join(mailDir, `${req.params.name}.eml`);
    if (!fs.existsSync(file)) return next();
    page(res).type('message/rfc822').attachment(`${req.params.name}.eml`).sendFile(path.resolve(file));
  });

  router.get(`${MESSAGES_PAGE_PATH}/sms/:sid`, (req, res, next) => {
    const message = sms && SMS_SID.test(req.params.sid) ? sms.messages().find((m) => m.sid === req.params.sid) : undefined;
    if (!message) return next();
    page(res).render('sandbox/message', {
      title: `Text message to ${message.to}`,
      robots: 'noindex',
      message: {
        channel: 'sms',
        to: message.to,
        from: message.from ?? '',
        subject: null,
        date: message.receivedAt,
        text: message.body,
        hasHtml: false,
        messageId: message.sid,
        outboxId: null,
      },
      base: null,
    });
  });

  return router;
}

async function emailNamed(mailDir: string | null, name: string): Promise<FolderMessage | null> {
  if (!mailDir || !FILE_NAME.test(name)) return null;
  try {
    return JSON.parse(await fs.promises.readFile(path.join(mailDir, `${name}.json`), 'utf8')) as FolderMessage;
  } catch {
    return null;
  }
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim()) ?? '';
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}
