import type { Money } from './types.js';

/**
 * PayPal's currencies and the decimal places each takes (PayPal REST "Currency codes").
 * Amounts are worked in minor units as bigint: `value` may have 15 digits before the point,
 * which is past what a double holds exactly.
 */
const DECIMALS: Record<string, number> = {
  AUD: 2,
  BRL: 2,
  CAD: 2,
  CNY: 2,
  CZK: 2,
  DKK: 2,
  EUR: 2,
  HKD: 2,
  HUF: 0,
  ILS: 2,
  JPY: 0,
  MYR: 2,
  MXN: 2,
  TWD: 0,
  NZD: 2,
  NOK: 2,
  PHP: 2,
  PLN: 2,
  GBP: 2,
  SGD: 2,
  SEK: 2,
  CHF: 2,
  THB: 2,
  USD: 2,
};

export function isSupportedCurrency(code: string): boolean {
  return code in DECIMALS;
}

/** The amount in minor units, or undefined if it has more decimal places than the currency allows. */
export function toMinor(money: Money): bigint | undefined {
  const decimals = DECIMALS[money.currency_code] ?? 2;
  const negative = money.value.startsWith('-');
  const [whole = '', fraction = ''] = money.value.replace(/^-/, '').split('.');
  if (fraction.length > decimals) return undefined;
  const minor = BigInt(whole || '0') * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
  return negative ? -minor : minor;
}

export function fromMinor(minor: bigint, currency: string): Money {
  const decimals = DECIMALS[currency] ?? 2;
  const sign = minor < 0n ? '-' : '';
  const digits = (minor < 0n ? -minor : minor).toString().padStart(decimals + 1, '0');
  const value = decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  return { currency_code: currency, value: `${sign}${value}` };
}

/**
 * A plausible PayPal fee, 2.9% plus 30 minor units, never more than the payment, so that
 * seller_receivable_breakdown has a gross, a fee and a net that add up.
 */
export function paypalFee(gross: Money): Money {
  const minor = toMinor(gross) ?? 0n;
  const fee = (minor * 29n + 500n) / 1000n + 30n;
  return fromMinor(fee > minor ? minor : fee, gross.currency_code);
}
