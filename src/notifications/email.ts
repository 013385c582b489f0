/**
 * Email through nodemailer: over SMTP (SMTP_URL) in production, or, in the zero-configuration
 * demo and development, into a local mail folder (DATA_DIR/mail) as .eml files a person can open
 * in a mail client or read on the test-mode messages page. Every message has an HTML and a
 * plain-text part (text only when no HTML is given).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { SendError, type EmailSender, type OutgoingEmail } from './senders.js';

export const DEFAULT_SMTP_TIMEOUT_MS = 30_000;

/**
 * A Message-ID that is the same on every attempt at one outbox row and differs between rows (and
 * between databases that reuse ids), so a duplicate left by a crash is recognisable as one.
 */
export function messageIdFor(message: OutgoingEmail, from: string): string {
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  const domain = address.split('@')[1]?.trim() || 'localhost';
  const digest = createHash('sha256')
    .update(JSON.stringify([message.outboxId, message.to, message.subject, message.text]))
    .digest('hex')
    .slice(0, 20);
  return `<outbox-${message.outboxId}.${digest}@${domain}>`;
}

function mailOptions(message: OutgoingEmail, from: string) {
  return {
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    ...(message.html ? { html: message.html } : {}),
    ...(message.headers ? { headers: message.headers } : {}),
    messageId: messageIdFor(message, from),
  };
}

/**
 * Which SMTP failures are worth another attempt. A 5xx refusal of the recipient (RCPT TO), an
 * address nodemailer cannot use, or a message the server will never take (too large) are
 * permanent; a connection refused or dropped, a timeout, a 4xx, an authentication or sender
 * problem (a configuration an operator can fix) are retried.
 */
export function classifySmtpError(error: unknown): SendError {
  const e = error as { code?: string; command?: string; responseCode?: number; permanent?: boolean; message?: string };
  const permanent =
    (e.command === 'RCPT TO' && typeof e.responseCode === 'number' && e.responseCode >= 500) ||
    (e.code === 'EENVELOPE' && e.command === 'API') ||
    e.code === 'EMESSAGE';
  const where = [e.command, e.responseCode].filter((x) => x !== undefined && x !== null).join(' ');
  return new SendError(`SMTP${where ? ` ${where}` : ''}${e.code ? ` ${e.code}` : ''}: ${e.message ?? String(error)}`, permanent);
}

export interface SmtpSenderOptions {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465. */
  smtpUrl: string;
  /** The From header, e.g. 'Northern Lights Music <orders@example.com>'. */
  from: string;
  timeoutMs?: number;
}

/** A pooled SMTP connection: one connection serves a batch, reopened when the server drops it. */
export function createSmtpEmailSender({ smtpUrl, from, timeoutMs = DEFAULT_SMTP_TIMEOUT_MS }: SmtpSenderOptions): EmailSender {
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: 3,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // nodemailer logs nothing unless asked; keep it so (its debug output quotes addresses and bodies).
    logger: false,
    debug: false,
  });
  return {
    kind: 'smtp',
    async send(message) {
      try {
        await transport.sendMail(mailOptions(message, from));
      } catch (error) {
        throw classifySmtpError(error);
      }
    },
    close: () => transport.close(),
  };
}

/** What the messages page reads for each message in the folder (beside the .eml). */
export interface FolderMessage {
  file: string;
  outboxId: number;
  messageId: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  /** ISO time the message was written. */
  date: string;
}

export interface MailFolderOptions {
  dir: string;
  from: string;
  clock?: () => Date;
}

/**
 * The local mail folder: nodemailer builds the real MIME message (the same as SMTP would carry)
 * and it is written as NAME.eml, with NAME.json beside it for the messages page. Files are
 * written whole (temporary name, then rename), so a reader never sees half a message.
 */
export function createMailFolderSender({ dir, from, clock = () => new Date() }: MailFolderOptions): EmailSender {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  return {
    kind: 'folder',
    async send(message) {
      const options = mailOptions(message, from);
      const info = await transport.sendMail(options);
      const at = clock();
      const name = `${at.toISOString().replace(/[-:]/g, '').replace('.', '-')}-outbox-${message.outboxId}`;
      await fs.promises.mkdir(dir, { recursive: true });
      const summary: FolderMessage = {
        file: `${name}.eml`,
        outboxId: message.outboxId,
        messageId: options.messageId,
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        date: at.toISOString(),
      };
      await writeWhole(path.join(dir, `${name}.eml`), info.message as Buffer);
      await writeWhole(path.join(dir, `${name}.json`), JSON.stringify(summary, null, 2));
    },
    close: () => transport.close(),
  };
}

async function writeWhole(file: string, data: string | Buffer): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(temporary, data);
  await fs.promises.rename(temporary, file);
}

/** The folder's messages, newest first (at most `limit`). */
export async function readMailFolder(dir: string, limit = 200): Promise<FolderMessage[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const summaries = names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .reverse()
    .slice(0, limit);
  const messages = await Promise.all(
    summaries.map(async (n) => {
      try {
        return JSON.parse(await fs.promises.readFile(path.join(dir, n), 'utf8')) as FolderMessage;
      } catch {
        return null; // removed meanwhile, or not ours
      }
    }),
  );
  return messages.filter((m): m is FolderMessage => m !== null);
}

export interface EmailSettings {
  /** null: no SMTP server configured, so messages go to mailDir (never in production). */
  smtpUrl: string | null;
  from: string;
  mailDir: string;
}

export function createEmailSender(settings: EmailSettings): EmailSender {
  return settings.smtpUrl
    ? createSmtpEmailSender({ smtpUrl: settings.smtpUrl, from: settings.from })
    : createMailFolderSender({ dir: settings.mailDir, from: settings.from });
}
