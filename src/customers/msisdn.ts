import { parsePhoneNumberFromString } from 'libphonenumber-js';

/**
 * Mobile numbers in the one form the store keeps: international, digits only, no `+`
 * (447700900123), as the mobile-billing protocol sends them. People type UK numbers many ways:
 * 07700 900123, +44 7700 900123, +44 (0)7700 900123, 0044 7700-900123, 447700900123.
 */

/** The country code assumed for a number typed in national form (leading 0). */
const UK = '44';
/** E.164: at most 15 digits, country code first (never 0). */
const INTERNATIONAL = /^[1-9]\d{7,14}$/;
/** A UK mobile number: 44, then 7 and nine more digits. */
const UK_MOBILE = /^447\d{9}$/;

/** The number in international form, or null when it cannot be one. */
export function normaliseMsisdn(input: string): string | null {
  let text = input.trim();
  if (text.length === 0 || text.length > 32) return null;
  // "+44 (0)7700 ...": the (0) is the national trunk prefix, written for people dialling at home.
  text = text.replace(/\(0\)/g, '');
  if (!/^\+?[\d\s().-]+$/.test(text)) return null;
  const plus = text.startsWith('+');
  let digits = text.replace(/\D/g, '');
  if (plus) {
    // already international
  } else if (digits.startsWith('00')) {
    digits = digits.slice(2);
  } else if (digits.startsWith('0')) {
    digits = UK + digits.slice(1);
  }
  // A UK number written internationally with its trunk 0 kept: 4407700900123.
  if (digits.startsWith(`${UK}0`) && digits.length === 13) digits = UK + digits.slice(3);
  return INTERNATIONAL.test(digits) ? digits : null;
}

export function isUkMobile(msisdn: string): boolean {
  return UK_MOBILE.test(msisdn);
}

/** A stored number as a person writes it for anyone, anywhere: +44 7700 900123 (libphonenumber-js knows each country's grouping). */
export function formatMsisdn(msisdn: string): string {
  return parsePhoneNumberFromString(`+${msisdn}`)?.formatInternational() ?? `+${msisdn}`;
}

/** A UK mobile number as people read it: 07700 900123. */
export function formatUkMobile(msisdn: string): string {
  return isUkMobile(msisdn) ? `0${msisdn.slice(2, 6)} ${msisdn.slice(6)}` : `+${msisdn}`;
}

/**
 * The country a number belongs to (ISO 3166 alpha-2, libphonenumber's metadata), for the country of
 * sale. A number libphonenumber cannot place exactly (a test range such as 07700 900xxx) counts for
 * the main country of its calling code: +44 is GB, +1 is US.
 */
export function countryOfMsisdn(msisdn: string): string | undefined {
  const phone = parsePhoneNumberFromString(`+${msisdn}`);
  return phone?.country ?? phone?.getPossibleCountries()[0];
}
