import type { Kysely, Transaction } from 'kysely';
import { toDbTime } from '../db/dialect.js';
import { fetchPage } from '../db/paging.js';
import type { Database } from '../db/schema.js';

type Tx = Transaction<Database> | Kysely<Database>;

export interface AuditEntry {
  operatorId: number | null;
  /** What was done, as a short verb phrase: 'order.refund', 'operator.sign_in'. */
  action: string;
  /** What it was done to: an order reference, an affiliate number. Never an email or mobile number. */
  target?: string | null;
  /** Anything else worth keeping (an outcome, a provider's error). No personal data. */
  detail?: string | null;
}

const TARGET_LENGTH = 190;
const DETAIL_LENGTH = 2000;

/**
 * Writes one audit row: who, what, when. Pass the transaction of the change itself where there is
 * one, so the change and its record commit (or roll back) together.
 */
export async function recordAudit(tx: Tx, entry: AuditEntry, now: Date): Promise<void> {
  await tx
    .insertInto('admin_audit')
    .values({
      operator_id: entry.operatorId,
      action: entry.action.slice(0, 60),
      target: entry.target?.slice(0, TARGET_LENGTH) ?? null,
      detail: entry.detail?.slice(0, DETAIL_LENGTH) ?? null,
      created_at: toDbTime(now),
    })
    .execute();
}

export interface AuditRow {
  id: number;
  created_at: string;
  operator_email: string | null;
  action: string;
  target: string | null;
  detail: string | null;
}

export const AUDIT_PAGE_SIZE = 100;

/** The audit log, newest first, optionally for one action or target; a page at a time. */
export async function readAudit(
  db: Tx,
  filter: { action?: string; target?: string; page: number },
): Promise<{ rows: AuditRow[]; more: boolean }> {
  let query = db
    .selectFrom('admin_audit as a')
    .leftJoin('operators as o', 'o.id', 'a.operator_id')
    .select(['a.id', 'a.created_at', 'o.email as operator_email', 'a.action', 'a.target', 'a.detail']);
  if (filter.action) query = query.where('a.action', '=', filter.action);
  if (filter.target) query = query.where('a.target', '=', filter.target);
  return fetchPage(query.orderBy('a.id', 'desc'), filter.page, AUDIT_PAGE_SIZE);
}
