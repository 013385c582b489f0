import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.js';
import { toDbTime } from '../../src/db/dialect.js';
import { reusableQuery } from '../../src/db/reusable-query.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';

describe.each(databaseKinds())('a reusable query, compiled once per shape ($kind)', ({ kind, skip }) => {
  let database: TestDatabase;
  const emails: string[] = [];
  const ids: number[] = [];

  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase(kind);
    const now = toDbTime(new Date());
    for (let i = 0; i < 5; i++) {
      const email = `reuse-${i}@example.com`;
      const row = await database.db
        .insertInto('customers')
        .values({
          email,
          msisdn: i % 2 ? `44770090000${i}` : null,
          marketing_opt_in: 0,
          marketing_choice_at: null,
          created_at: now,
          updated_at: now,
        })
        .executeTakeFirstOrThrow();
      emails.push(email);
      ids.push(Number(row.insertId));
    }
  });
  afterAll(async () => database?.drop());

  type Values = { minId: number; emails: string[]; msisdn?: string | null };
  let builds = 0;
  /** Customers from minId on, with one of these emails, and (when given) this mobile number or none. */
  const plain = (db: Db, { minId, emails: among, msisdn }: Values) => {
    builds += 1;
    let query = db.selectFrom('customers').select(['id', 'email']).where('id', '>=', minId);
    if (among.length > 0) query = query.where('email', 'in', among);
    if (msisdn !== undefined) query = msisdn === null ? query.where('msisdn', 'is', null) : query.where('msisdn', '=', msisdn);
    return query.orderBy('id');
  };
  const reused = reusableQuery(plain);

  it.skipIf(skip)('answers exactly as the query built afresh, for every shape and value, building each shape once', async () => {
    const cases: Values[] = [
      { minId: ids[0]!, emails: [] },
      { minId: ids[2]!, emails: [] },
      { minId: ids[0]!, emails: [emails[1]!, emails[3]!] },
      { minId: ids[2]!, emails: [emails[4]!, emails[0]!] },
      { minId: ids[0]!, emails: [emails[2]!] },
      { minId: ids[0]!, emails: [], msisdn: null },
      { minId: ids[0]!, emails: [], msisdn: '447700900003' },
      { minId: ids[0]!, emails: [], msisdn: '447700900001' },
    ];
    builds = 0;
    for (const values of cases) {
      const expected = await plain(database.db, values).execute();
      expect(expected.length).toBeGreaterThan(0);
      expect(await reused(database.db, values)).toEqual(expected);
    }
    // Each case was built once by `plain`; the reusable query built one per shape (5 shapes in 8 cases).
    expect(builds).toBe(cases.length + 5);
    // A value that looks like SQL is still only a value.
    expect(await reused(database.db, { minId: ids[0]!, emails: ["x' or '1'='1"] })).toEqual([]);
  });

  it.skipIf(skip)('refuses a builder that writes a value into the SQL or changes it before use', async () => {
    const literal = reusableQuery((db, { email }: { email: string }) =>
      db.selectFrom('customers').select('id').where('email', '=', sql.lit(email)),
    );
    await expect(literal(database.db, { email: emails[0]! })).rejects.toThrow(/written into the SQL/);
    const coerced = reusableQuery((db, { id }: { id: string }) => db.selectFrom('customers').select('id').where('id', '=', Number(id)));
    await expect(coerced(database.db, { id: String(ids[0]) })).rejects.toThrow(/id did not reach the SQL as a value/);
  });
});
