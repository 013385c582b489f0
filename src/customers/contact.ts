import { z } from 'zod';
import { formatMsisdn, normaliseMsisdn } from './msisdn.js';
import type { Contact } from './repository.js';

const email = z.string().trim().toLowerCase().email().max(254);

/** What a person typed as their login: an email address or a mobile number, in stored form. */
export function parseContact(input: string): Contact | null {
  if (input.includes('@')) {
    const parsed = email.safeParse(input);
    return parsed.success ? { email: parsed.data } : null;
  }
  const msisdn = normaliseMsisdn(input);
  return msisdn ? { msisdn } : null;
}

/** A contact detail as a person writes it: the email address, or the number grouped (+44 7700 900123). */
export function contactText(contact: Contact): string {
  return 'email' in contact ? contact.email : formatMsisdn(contact.msisdn);
}

/** For logs and pages that must refer to a contact without showing it: f***@example.com, +44******123. */
export function maskContact(contact: Contact): string {
  if ('email' in contact) {
    const [local, domain] = contact.email.split('@');
    return `${local!.slice(0, 1)}***@${domain}`;
  }
  return `+${contact.msisdn.slice(0, 2)}******${contact.msisdn.slice(-3)}`;
}
