/**
 * The fields of the protocol's messages (../shared/specs/payforit.md), read once and checked here
 * for both directions: the store reads results (notification, status answer) and the stand-in
 * reads payment requests with the same rules.
 */
import { normaliseMsisdn } from '../../customers/msisdn.js';
import type { SignedParams } from './signature.js';

export const CURRENCY = 'GBP';
/** The store's order reference as the protocol allows it. */
export const REF_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** The intermediary's transaction id. The spec names no format; we keep it in a 64-character column. */
export const TRANSACTION_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PENCE_PATTERN = /^[1-9]\d{0,8}$/;
export const DESCRIPTION_MAX = 60;
export const RESULT_STATUSES = ['charged', 'declined', 'cancelled', 'failed'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];
export const NETWORKS = ['EE', 'O2', 'Vodafone', 'Three', 'other'] as const;

/** A notification (section 2), or a status answer (section 4) that holds the same fields. */
export interface PaymentResult {
  merchantId: string;
  ref: string;
  transactionId: string;
  amountPence: number;
  currency: string;
  status: ResultStatus;
  /** International form, present for a charge: the customer's one contact detail. */
  msisdn?: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export function isResultStatus(value: string | undefined): value is ResultStatus {
  return (RESULT_STATUSES as readonly string[]).includes(value ?? '');
}

/** Reads a verified result message; `merchantId` is ours, and a result for anyone else is refused. */
export function parseResult(params: SignedParams, merchantId: string): Parsed<PaymentResult> {
  const problem = (text: string): Parsed<PaymentResult> => ({ ok: false, problem: text });
  if (params.merchant_id !== merchantId) return problem('merchant_id is not ours');
  if (!REF_PATTERN.test(params.ref ?? '')) return problem('ref is missing or malformed');
  if (!TRANSACTION_ID_PATTERN.test(params.transaction_id ?? '')) return problem('transaction_id is missing or malformed');
  if (!/^\d{1,9}$/.test(params.amount_pence ?? '')) return problem('amount_pence is missing or not whole pence');
  if (!/^[A-Z]{3}$/.test(params.currency ?? '')) return problem('currency is missing or malformed');
  if (!isResultStatus(params.status)) return problem('status is not one of charged, declined, cancelled, failed');
  if (params.network !== undefined && !(NETWORKS as readonly string[]).includes(params.network))
    return problem('network is not one the protocol names');
  let msisdn: string | undefined;
  if (params.status === 'charged') {
    msisdn = normaliseMsisdn(params.msisdn ?? '') ?? undefined;
    if (!msisdn) return problem('a charge must name the msisdn in international form');
  }
  return {
    ok: true,
    value: {
      merchantId,
      ref: params.ref!,
      transactionId: params.transaction_id!,
      amountPence: Number(params.amount_pence),
      currency: params.currency!,
      status: params.status,
      msisdn,
    },
  };
}

/** A payment request (section 1) as the intermediary reads it. */
export interface PaymentRequest {
  merchantId: string;
  ref: string;
  amountPence: number;
  currency: string;
  description: string;
  returnUrl: URL;
}

export function parsePaymentRequest(params: SignedParams): Parsed<PaymentRequest> {
  const problem = (text: string): Parsed<PaymentRequest> => ({ ok: false, problem: text });
  if (!params.merchant_id) return problem('merchant_id is missing');
  if (!REF_PATTERN.test(params.ref ?? '')) return problem('ref must be 1 to 64 of A-Z, a-z, 0-9, - and _');
  if (!PENCE_PATTERN.test(params.amount_pence ?? '')) return problem('amount_pence must be a whole number of pence, at least 1');
  if (params.currency !== CURRENCY) return problem('currency must be GBP');
  const description = params.description ?? '';
  if (description.trim() === '' || [...description].length > DESCRIPTION_MAX)
    return problem(`description must be 1 to ${DESCRIPTION_MAX} characters`);
  let returnUrl: URL;
  try {
    returnUrl = new URL(params.return_url ?? '');
  } catch {
    return problem('return_url must be an absolute URL');
  }
  if (returnUrl.protocol !== 'https:' && returnUrl.protocol !== 'http:') return problem('return_url must be an http(s) URL');
  return {
    ok: true,
    value: {
      merchantId: params.merchant_id,
      ref: params.ref!,
      amountPence: Number(params.amount_pence),
      currency: CURRENCY,
      description,
      returnUrl,
    },
  };
}
