import { randomInt } from 'node:crypto';

/** Crockford's alphabet: no I, L, O or U, so a reference read over the phone is not misheard. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 12;

/** A public order reference from the CSPRNG: 60 bits, so references cannot be guessed or walked. */
export function newOrderReference(): string {
  let body = '';
  for (let i = 0; i < LENGTH; i++) body += ALPHABET[randomInt(ALPHABET.length)];
  return `NL-${body.slice(0, 4)}-${body.slice(4, 8)}-${body.slice(8)}`;
}

export const ORDER_REFERENCE_PATTERN = /^NL-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;
