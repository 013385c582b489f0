import { sql, type Kysely } from 'kysely';
import type { Db } from '../db/database.js';
import { dialectOf } from '../db/dialect.js';

/** One count to add to the statistics of one UTC day. */
export type UsageIncrement =
  | { table: 'page_views'; day: string; path: string; count: number }
  | { table: 'page_referrers'; day: string; domain: string; count: number }
  | { table: 'daily_visitors'; day: string; count: number };

const KEY_AND_COLUMN = {
  page_views: { key: ['day', 'path'], column: 'views' },
  page_referrers: { key: ['day', 'domain'], column: 'views' },
  daily_visitors: { key: ['day'], column: 'visitors' },
} as const;

/**
 * Adds one count to its row, creating the row if it is the first: an atomic upsert-increment, so
 * several processes can add to the same day's rows at once without losing a count. One statement
 * per row in autocommit: each holds one row lock briefly, so two processes flushing together
 * cannot deadlock, and a failure leaves the other rows added.
 */
export async function addUsage(db: Db, increment: UsageIncrement): Promise<void> {
  const { key, column } = KEY_AND_COLUMN[increment.table];
  const row: Record<string, string | number> = { [column]: increment.count };
  for (const k of key) row[k] = (increment as unknown as Record<string, string>)[k]!;
  const insert = (db as Kysely<any>).insertInto(increment.table).values(row);
  // In both dialects an unqualified column in the update clause is the existing row's value.
  const added = { [column]: sql`${sql.ref(column)} + ${increment.count}` };
  if (dialectOf(db) === 'mysql') await insert.onDuplicateKeyUpdate(added).execute();
  else await insert.onConflict((oc) => oc.columns([...key]).doUpdateSet(added)).execute();
}

/** What the operator sees: per day, and the most viewed pages and referring sites over the range. */
export interface UsageSummary {
  /** First and last UTC day of the range, inclusive ('YYYY-MM-DD'). */
  from: string;
  to: string;
  /** Every day of the range, oldest first; days with nothing counted are there with zeros. */
  days: { day: string; views: number; visitors: number }[];
  /** visitors is a sum of daily figures: someone who came on three days counts three times. */
  totals: { views: number; visitors: number };
  /** Most viewed first; at most `top` rows. */
  topPaths: { path: string; views: number }[];
  topReferrers: { domain: string; views: number }[];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 24 * 3600_000;

/** The last `days` UTC days up to and including `now`'s. */
export function lastDays(days: number, now: Date): { from: string; to: string } {
  const to = now.toISOString().slice(0, 10);
  const from = new Date(now.getTime() - (days - 1) * DAY_MS).toISOString().slice(0, 10);
  return { from, to };
}

function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/**
 * Page views and estimated visitors per day from `fromDay` to `toDay` (inclusive, UTC), with the
 * `top` most viewed paths and referring domains over the range. Counts still buffered in a running
 * process (at most a few seconds' worth) are not included.
 */
export async function usageSummary(db: Db, fromDay: string, toDay: string, { top = 20 }: { top?: number } = {}): Promise<UsageSummary> {
  if (!DAY.test(fromDay) || !DAY.test(toDay) || Number.isNaN(Date.parse(fromDay)) || Number.isNaN(Date.parse(toDay)))
    throw new RangeError('days must be YYYY-MM-DD');
  if (fromDay > toDay) throw new RangeError('the range must not end before it starts');
  if (Date.parse(toDay) - Date.parse(fromDay) > 3660 * DAY_MS) throw new RangeError('the range must be at most ten years');
  const [views, visitors, topPaths, topReferrers] = await Promise.all([
    db
      .selectFrom('page_views')
      .select(['day', (eb) => eb.fn.sum<number | string>('views').as('views')])
      .where('day', '>=', fromDay)
      .where('day', '<=', toDay)
      .groupBy('day')
      .execute(),
    db.selectFrom('daily_visitors').select(['day', 'visitors']).where('day', '>=', fromDay).where('day', '<=', toDay).execute(),
    db
      .selectFrom('page_views')
      .select(['path', (eb) => eb.fn.sum<number | string>('views').as('views')])
      .where('day', '>=', fromDay)
      .where('day', '<=', toDay)
      .groupBy('path')
      .orderBy('views', 'desc')
      .orderBy('path')
      .limit(top)
      .execute(),
    db
      .selectFrom('page_referrers')
      .select(['domain', (eb) => eb.fn.sum<number | string>('views').as('views')])
      .where('day', '>=', fromDay)
      .where('day', '<=', toDay)
      .groupBy('domain')
      .orderBy('views', 'desc')
      .orderBy('domain')
      .limit(top)
      .execute(),
  ]);
  // MySQL returns SUM() as a decimal string.
  const viewsByDay = new Map(views.map((v) => [v.day, Number(v.views)]));
  const visitorsByDay = new Map(visitors.map((v) => [v.day, Number(v.visitors)]));
  const days = daysBetween(fromDay, toDay).map((day) => ({ day, views: viewsByDay.get(day) ?? 0, visitors: visitorsByDay.get(day) ?? 0 }));
  return {
    from: fromDay,
    to: toDay,
    days,
    totals: { views: days.reduce((n, d) => n + d.views, 0), visitors: days.reduce((n, d) => n + d.visitors, 0) },
    topPaths: topPaths.map((p) => ({ path: p.path, views: Number(p.views) })),
    topReferrers: topReferrers.map((r) => ({ domain: r.domain, views: Number(r.views) })),
  };
}
