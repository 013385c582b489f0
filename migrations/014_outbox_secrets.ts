import type { Kysely } from 'kysely';

/** What stands where a sign-in code or link token was, once its message is sent or failed for good. */
export const REMOVED_SECRET = '[removed after sending]';

/**
 * outbox.secret: the one sign-in code or link token a message carries, kept only while the
 * message waits. The statement that records the message as sent (or failed for good) replaces
 * the secret with REMOVED_SECRET in the stored subject and bodies and empties this column
 * (src/notifications/outbox.ts: forgetSecret), so the database and its backups hold no code or
 * token that could sign anyone in (issue 13, docs/security.md).
 *
 * Messages already sent before this migration are cleaned the same way here: link tokens by their
 * shape, codes in the messages that carry a sign-in code.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox').addColumn('secret', 'varchar(255)').execute();
  const rows: { id: number; subject: string | null; body_text: string; body_html: string | null }[] = await db
    .selectFrom('outbox')
    .select(['id', 'subject', 'body_text', 'body_html'])
    .where('status', 'in', ['sent', 'failed'])
    .where((eb) => eb.or([eb('body_text', 'like', '%/account/link/%'), eb('body_text', 'like', '%code%')]))
    .execute();
  for (const row of rows) {
    const isCodeMessage = /sign-in code|code to sign in|sign in code|code is \d{6}/i.test(`${row.subject ?? ''} ${row.body_text}`);
    const clean = (text: string | null) => {
      if (text === null) return null;
      const noLinks = text.replace(/\/account\/link\/[A-Za-z0-9_-]{43}/g, `/account/link/${REMOVED_SECRET}`);
      return isCodeMessage ? noLinks.replace(/\b\d{6}\b/g, REMOVED_SECRET) : noLinks;
    };
    await db
      .updateTable('outbox')
      .set({ subject: clean(row.subject), body_text: clean(row.body_text), body_html: clean(row.body_html) })
      .where('id', '=', row.id)
      .execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('outbox').dropColumn('secret').execute();
}
