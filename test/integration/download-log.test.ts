import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromDbTime, toDbTime } from '../../src/db/dialect.js';
import { createDownloadLog } from '../../src/downloads/download-log.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';

/** A logger whose lines the test reads. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino(sink), lines };
}

describe.each(databaseKinds())('the download log, written behind the downloads ($kind)', ({ kind, skip }) => {
  let database: TestDatabase;
  const db = () => database.db;
  const at = toDbTime(new Date('2026-12-07T10:00:00Z'));

  beforeAll(async () => {
    if (!skip) database = await createTestDatabase(kind);
  });
  afterAll(async () => database?.drop());

  async function newCustomer(): Promise<number> {
    const now = toDbTime(new Date());
    const email = `log-${Math.random().toString(36).slice(2)}@example.com`;
    const row = await db()
      .insertInto('customers')
      .values({ email, msisdn: null, marketing_opt_in: 0, marketing_choice_at: null, created_at: now, updated_at: now })
      .executeTakeFirstOrThrow();
    return Number(row.insertId);
  }
  const rowsOf = (customerId: number) =>
    db().selectFrom('downloads').select(['customer_id', 'track_id', 'release_id']).where('customer_id', '=', customerId).execute();

  it.skipIf(skip)('writes nothing until a flush, then every noted download once, with its own time', async () => {
    const { logger } = capturedLogger();
    const log = createDownloadLog({ db: db(), logger, flushMs: 60_000 });
    const customerId = await newCustomer();
    log.record({ customerId, trackId: null, releaseId: null, at });
    log.record({ customerId, trackId: null, releaseId: null, at: toDbTime(new Date('2026-12-07T10:00:05Z')) });
    expect(await rowsOf(customerId)).toEqual([]);
    await log.flush();
    await log.flush(); // nothing left: nothing written twice
    const times = await db().selectFrom('downloads').select('created_at').where('customer_id', '=', customerId).execute();
    expect(times.map((t) => toDbTime(fromDbTime(t.created_at))).sort()).toEqual([at, '2026-12-07 10:00:05']);
    await log.close();
  });

  it.skipIf(skip)('writes as it goes once a busy moment has gathered a full batch, without waiting for the timer', async () => {
    const { logger } = capturedLogger();
    const log = createDownloadLog({ db: db(), logger, flushMs: 60_000 });
    const customerId = await newCustomer();
    for (let i = 0; i < 450; i++) log.record({ customerId, trackId: null, releaseId: null, at });
    await expect.poll(async () => (await rowsOf(customerId)).length, { timeout: 5000 }).toBeGreaterThanOrEqual(400);
    await log.close();
    expect(await rowsOf(customerId)).toHaveLength(450);
  });

  it.skipIf(skip)("leaves out a row whose customer was erased meanwhile, and writes the others' rows", async () => {
    const { logger, lines } = capturedLogger();
    const log = createDownloadLog({ db: db(), logger, flushMs: 60_000 });
    const kept = await newCustomer();
    const erased = await newCustomer();
    log.record({ customerId: erased, trackId: null, releaseId: null, at });
    log.record({ customerId: kept, trackId: null, releaseId: null, at });
    await db().deleteFrom('customers').where('id', '=', erased).execute();
    await log.close();
    expect(await rowsOf(kept)).toEqual([{ customer_id: kept, track_id: null, release_id: null }]);
    expect(await rowsOf(erased)).toEqual([]);
    expect(lines.filter((l) => l.level === 40)).toEqual([]);
  });

  it.skipIf(skip)('keeps the rows a failed write could not add, says so without naming anyone, and writes them next time', async () => {
    const { logger, lines } = capturedLogger();
    const log = createDownloadLog({ db: db(), logger, flushMs: 60_000 });
    const customerId = await newCustomer();
    log.record({ customerId, trackId: null, releaseId: null, at });
    await sql`alter table downloads rename to downloads_away`.execute(db());
    try {
      await log.flush(); // fails: the table is not there
    } finally {
      await sql`alter table downloads_away rename to downloads`.execute(db());
    }
    const warning = lines.find((l) => l.msg === 'download log: rows not written; will try again');
    expect(warning).toMatchObject({ held: 1, dropped: 0 });
    // Only what the line names: not the database's error object, whose SQL would carry the rows' customer ids.
    expect(Object.keys(warning!).sort()).toEqual(['dropped', 'held', 'hostname', 'level', 'msg', 'pid', 'reason', 'time']);
    expect(JSON.stringify(warning)).not.toContain('insert into');
    expect(await rowsOf(customerId)).toEqual([]);
    log.record({ customerId, trackId: null, releaseId: null, at });
    await log.close();
    expect(await rowsOf(customerId)).toHaveLength(2);
  });
});
