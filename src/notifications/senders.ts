/**
 * What the outbox worker needs from a channel: send one message, or say why not. The real
 * implementations are email.ts (nodemailer over SMTP, or a local mail folder) and sms.ts (the
 * Twilio Messages API, or its local stand-in).
 */

export interface OutgoingEmail {
  /** The outbox row's id: gives the message a stable Message-ID, so a duplicate is recognisable. */
  outboxId: number;
  to: string;
  subject: string;
  text: string;
  html: string | null;
  /** Extra headers from the outbox row (List-Unsubscribe on marketing). */
  headers?: Record<string, string>;
}

export interface OutgoingSms {
  outboxId: number;
  to: string;
  text: string;
}

export interface EmailSender {
  /** 'smtp' for a real server, 'folder' for the local mail folder of the test mode. */
  readonly kind: 'smtp' | 'folder';
  /** Resolves once the server (or folder) has taken the message; rejects with SendError or any error (= try again later). */
  send(message: OutgoingEmail): Promise<void>;
  close(): void;
}

export interface SmsSender {
  readonly kind: 'twilio';
  send(message: OutgoingSms): Promise<void>;
  close(): void;
}

/**
 * A failed send. `permanent` means trying again cannot help (the gateway refused the number, the
 * server refused the address): the message is marked failed at once. Anything else thrown by a
 * sender counts as temporary. The message must not quote the recipient or the body; worker.ts
 * masks anything that looks like an address before storing it all the same.
 */
export class SendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'SendError';
  }
}
