/**
 * The stand-in's book of transactions, texts and test choices. A transaction is one visit to the
 * payment page: it is opened by a valid payment request and ends charged, declined, cancelled or
 * failed; its result is what notifications and status answers carry.
 */
import crypto from 'node:crypto';
import type { PaymentRequest, ResultStatus } from '../../src/payments/payforit/messages.js';
import { normaliseMsisdn } from '../../src/customers/msisdn.js';
import type { SignedParams } from '../../src/payments/payforit/signature.js';

export type Network = 'EE' | 'O2' | 'Vodafone' | 'Three' | 'other';
const NETWORKS: Network[] = ['EE', 'O2', 'Vodafone', 'Three'];
export const PIN_TRIES = 3;

/** Numbers a person in the demo can type to see the other outcomes (a test chooses through control). */
export const TEST_NUMBERS: Record<string, ResultStatus> = { '447700900001': 'declined', '447700900002': 'failed' };

export interface Transaction {
  id: string;
  request: PaymentRequest;
  createdAt: Date;
  state: 'open' | 'pin-sent' | ResultStatus;
  msisdn?: string;
  network?: Network;
  pin?: string;
  pinTries: number;
  finishedAt?: Date;
  refunds: { id: string; amountPence: number; at: Date }[];
}

export interface SentText {
  to: string;
  kind: 'pin' | 'receipt';
  body: string;
  sentAt: Date;
}

export class TransactionBook {
  private readonly transactions = new Map<string, Transaction>();
  private readonly texts: SentText[] = [];
  private readonly nextOutcomes: ResultStatus[] = [];
  private readonly outcomeByPhone = new Map<string, ResultStatus>();
  private readonly networkByPhone = new Map<string, Network>();

  constructor(private readonly clock: () => Date) {}

  open(request: PaymentRequest): Transaction {
    const transaction: Transaction = {
      id: `pfi_${crypto.randomBytes(12).toString('hex')}`,
      request,
      createdAt: this.clock(),
      state: 'open',
      pinTries: 0,
      refunds: [],
    };
    this.transactions.set(transaction.id, transaction);
    return transaction;
  }

  find(id: string): Transaction | undefined {
    return this.transactions.get(id);
  }

  all(): Transaction[] {
    return [...this.transactions.values()];
  }

  /** Sends a PIN to the phone (a text recorded here, shown on the page in test mode). */
  sendPin(transaction: Transaction, msisdn: string, merchantName: string): void {
    transaction.msisdn = msisdn;
    transaction.network = this.networkByPhone.get(msisdn) ?? NETWORKS[Number(msisdn.at(-1)) % NETWORKS.length]!;
    transaction.pin = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0');
    transaction.pinTries = 0;
    transaction.state = 'pin-sent';
    this.text(
      msisdn,
      'pin',
      `Your PIN to pay ${merchantName} ${formatPence(transaction.request.amountPence)} on your phone bill is ${transaction.pin}. If you did not ask for it, ignore this text.`,
    );
  }

  /** The outcome of confirming: a choice queued for the next payment, then one for the phone, then the default. */
  outcomeOnConfirm(msisdn: string): ResultStatus {
    return this.nextOutcomes.shift() ?? this.outcomeByPhone.get(msisdn) ?? TEST_NUMBERS[msisdn] ?? 'charged';
  }

  finish(transaction: Transaction, status: ResultStatus, merchantName: string): void {
    transaction.state = status;
    transaction.finishedAt = this.clock();
    if (status === 'charged' && transaction.msisdn) {
      // The scheme's receipt, sent by the intermediary for every charge.
      this.text(
        transaction.msisdn,
        'receipt',
        `Receipt: ${merchantName} charged ${formatPence(transaction.request.amountPence)} to your phone bill for ${transaction.request.description}. Ref ${transaction.id}.`,
      );
    }
  }

  chooseOutcome(outcome: ResultStatus, msisdn?: string): void {
    if (msisdn === undefined) {
      this.nextOutcomes.push(outcome);
      return;
    }
    const number = normaliseMsisdn(msisdn);
    if (!number) throw new Error(`PayForIt stand-in: ${msisdn} is not a phone number`);
    this.outcomeByPhone.set(number, outcome);
  }

  setNetwork(msisdn: string, network: Network): void {
    const number = normaliseMsisdn(msisdn);
    if (!number) throw new Error(`PayForIt stand-in: ${msisdn} is not a phone number`);
    this.networkByPhone.set(number, network);
  }

  sentTexts(): SentText[] {
    return [...this.texts];
  }

  refundedPence(transaction: Transaction): number {
    return transaction.refunds.reduce((sum, r) => sum + r.amountPence, 0);
  }

  refund(transaction: Transaction, amountPence: number): string {
    const id = `pfr_${crypto.randomBytes(8).toString('hex')}`;
    transaction.refunds.push({ id, amountPence, at: this.clock() });
    return id;
  }

  private text(to: string, kind: SentText['kind'], body: string): void {
    this.texts.push({ to, kind, body, sentAt: this.clock() });
  }
}

/** The fields of a transaction's result, as a notification and a status answer carry them (unsigned). */
export function resultFields(transaction: Transaction): SignedParams | undefined {
  if (transaction.state === 'open' || transaction.state === 'pin-sent') return undefined;
  const { request } = transaction;
  return {
    merchant_id: request.merchantId,
    ref: request.ref,
    amount_pence: String(request.amountPence),
    currency: request.currency,
    transaction_id: transaction.id,
    status: transaction.state,
    ...(transaction.state === 'charged' && transaction.msisdn ? { msisdn: transaction.msisdn } : {}),
    network: transaction.network ?? 'other',
  };
}

export function formatPence(pence: number): string {
  return new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' }).format(pence / 100);
}
