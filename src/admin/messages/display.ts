/**
 * Sign-in codes travel in message subjects ("Your ... sign-in code: 123456"), for customers and
 * operators alike. An operator reading the outbox must not be able to use someone else's live
 * code, so any six-digit run in a subject is blanked before it reaches an admin page.
 */
export function withoutCodes(subject: string | null): string | null {
  return subject === null ? null : subject.replace(/\b\d{6}\b/g, '······');
}
