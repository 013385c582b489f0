/**
 * Webhook delivery and verification.
 *
 * PayPal signs each transmission (SHA256withRSA over "transmission_id|time|webhook_id|crc32(body)")
 * and merchants ask POST /v1/notifications/verify-webhook-signature whether a delivery is genuine.
 * The stand-in signs the same string with an HMAC key only it knows and remembers each
 * transmission, so verification says SUCCESS exactly for deliveries it really made, unaltered.
 */
import crypto from 'node:crypto';
import type { WebhookEvent } from './events.js';
import { Deliveries } from '../retry.js';
import { paypalTime } from './ids.js';
import type { VerifyWebhookSignatureRequest } from './types.js';

export const AUTH_ALGO = 'SHA256withRSA';
export const DEFAULT_RETRY_DELAYS_MS = [1_000, 5_000, 15_000];

/** One HTTP delivery attempt and how the receiver answered. */
export interface SentWebhook {
  event: WebhookEvent;
  /** 1 for the first delivery, then 2, 3... for retries after a non-2xx answer or no answer. */
  attempt: number;
  /** True when control.replayLastWebhook() sent an earlier transmission again, byte for byte. */
  replay: boolean;
  url: string;
  headers: Record<string, string>;
  body: string;
  sentAt: string;
  response?: { status: number; body: string };
  error?: string;
}

export interface WebhookSenderOptions {
  url?: string;
  webhookId: string;
  retryDelaysMs: number[];
  clock: () => Date;
  /** Where PAYPAL-CERT-URL points; a function because the stand-in learns its address on listen. */
  certUrl: () => string;
}

interface Transmission {
  time: string;
  signature: string;
  certUrl: string;
}

export class WebhookSender {
  private readonly key = crypto.randomBytes(32);
  private readonly transmissions = new Map<string, Transmission>();
  private readonly log: SentWebhook[] = [];
  private readonly deliveries = new Deliveries();
  private last?: Pick<SentWebhook, 'event' | 'headers' | 'body'>;

  constructor(private readonly options: WebhookSenderOptions) {}

  get enabled(): boolean {
    return this.options.url !== undefined;
  }

  /** Delivers an event, retrying on failure. Resolves with the last attempt once delivery is over. */
  send(event: WebhookEvent): Promise<SentWebhook | undefined> {
    if (!this.enabled) return Promise.resolve(undefined);
    return this.deliveries.track(this.deliver(event));
  }

  /** Sends the last transmission again, same headers and body: a duplicate or replayed delivery. */
  replayLast(): Promise<SentWebhook> {
    if (!this.last) throw new Error('PayPal stand-in: no webhook has been sent yet');
    const { event, headers, body } = this.last;
    return this.deliveries.track(this.post(event, body, headers, 1, true));
  }

  sent(): SentWebhook[] {
    return [...this.log];
  }

  /** True only for a transmission this stand-in made, for this webhook id, with the body it sent. */
  verify(request: VerifyWebhookSignatureRequest): boolean {
    const transmission = this.transmissions.get(request.transmission_id);
    if (!transmission || request.webhook_id !== this.options.webhookId) return false;
    if (request.auth_algo !== AUTH_ALGO || request.cert_url !== transmission.certUrl) return false;
    if (request.transmission_time !== transmission.time || request.transmission_sig !== transmission.signature) return false;
    const bodyCrc = crc32(JSON.stringify(request.webhook_event));
    return this.sign(request.transmission_id, request.transmission_time, bodyCrc) === transmission.signature;
  }

  /** Waits for every delivery in progress, retries included. */
  settled(): Promise<void> {
    return this.deliveries.settled();
  }

  /** Stops delivering: requests in flight are aborted and pending retries end now. */
  close(): void {
    this.deliveries.close();
  }

  private deliver(event: WebhookEvent): Promise<SentWebhook> {
    const body = JSON.stringify(event);
    return this.deliveries.untilAccepted(
      (attempt) => this.post(event, body, this.transmit(body), attempt, false),
      (sent) => sent.response !== undefined && sent.response.status >= 200 && sent.response.status < 300,
      () => this.options.retryDelaysMs,
    );
  }

  /** Each attempt is a new transmission: new id, time and signature over the same body. */
  private transmit(body: string): Record<string, string> {
    const id = crypto.randomUUID();
    const time = paypalTime(this.options.clock());
    const certUrl = this.options.certUrl();
    const signature = this.sign(id, time, crc32(body));
    this.transmissions.set(id, { time, signature, certUrl });
    return {
      'Content-Type': 'application/json',
      'PAYPAL-TRANSMISSION-ID': id,
      'PAYPAL-TRANSMISSION-TIME': time,
      'PAYPAL-TRANSMISSION-SIG': signature,
      'PAYPAL-CERT-URL': certUrl,
      'PAYPAL-AUTH-ALGO': AUTH_ALGO,
      'User-Agent': 'PayPal/AUHD-214.0-58135455',
    };
  }

  /**
   * Hex rather than PayPal's base64: the verify schema's transmission_sig pattern
   * (^(?!\d+$)\w+\S+) rejects a signature that starts with '+' or '/', which base64 can.
   */
  private sign(transmissionId: string, time: string, bodyCrc: number): string {
    const message = `${transmissionId}|${time}|${this.options.webhookId}|${bodyCrc}`;
    return crypto.createHmac('sha256', this.key).update(message).digest('hex');
  }

  private async post(
    event: WebhookEvent,
    body: string,
    headers: Record<string, string>,
    attempt: number,
    replay: boolean,
  ): Promise<SentWebhook> {
    const url = this.options.url!;
    const record: SentWebhook = { event, attempt, replay, url, headers, body, sentAt: paypalTime(this.options.clock()) };
    this.last = { event, headers, body };
    this.log.push(record);
    Object.assign(record, await this.deliveries.post(url, headers, body));
    return record;
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (IEEE) of the UTF-8 body, as the decimal PayPal puts in the signed string. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
