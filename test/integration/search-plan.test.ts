import { Kysely, MysqlDialect } from 'kysely';
import { createPool } from 'mysql2';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateBenchCatalogue } from '../../bench/generate-catalogue.js';
import { createCatalogueRepository } from '../../src/catalogue/repository.js';
import type { Database } from '../../src/db/schema.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';

/**
 * How MariaDB runs an artist search: the "is this artist shown" test must stay a lookup per
 * matching artist. Written as `exists`, MariaDB turned it into an `in` and materialised it, reading
 * every release on every search (the uncached search bench went from about 3 to 11 ms).
 */
const mysql = databaseKinds().find((d) => d.kind === 'mysql')!;

describe.skipIf(mysql.skip)('the artist search plan on MariaDB', () => {
  let database: TestDatabase;
  let logged: Kysely<Database>;
  const statements: { sql: string; parameters: readonly unknown[] }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('mysql');
    await generateBenchCatalogue(database.db, 5000, () => undefined);
    logged = new Kysely<Database>({
      dialect: new MysqlDialect({ pool: createPool({ uri: database.url, connectionLimit: 1 }) }),
      log: (event) => void statements.push({ sql: event.query.sql, parameters: event.query.parameters }),
    });
  }, 60_000);
  afterAll(async () => {
    await logged?.destroy();
    await database?.drop();
  });

  it('reads no table whole: each matching artist is looked up by index', async () => {
    // Every bench artist is called "Bench Artist ...": the search matches them all (a page of six).
    const found = await createCatalogueRepository(logged).searchIds('artist', ['bench'], 6, 0);
    expect(found.ids).toHaveLength(6);
    expect(found.total).toBe(100);
    expect(statements).toHaveLength(2); // the page of ids and their count
    for (const statement of statements) {
      const plan = await explain(statement.sql, statement.parameters);
      // A `<derived…>` row is the count's own subquery result, read whole by design; a stored table must not be.
      const wholeTables = plan.filter((row) => row.type === 'ALL' && !row.table.startsWith('<')).map((row) => row.table);
      expect(wholeTables, statement.sql).toEqual([]);
      expect(plan.map((row) => row.table)).toContain('r'); // the releases lookup is in the plan
    }
  });

  /** MariaDB's plan for a statement, one row per table read (`type` ALL: read whole). */
  async function explain(text: string, parameters: readonly unknown[]) {
    const connection = await createConnection({ uri: database.url });
    try {
      const [rows] = await connection.query(`EXPLAIN ${text}`, [...parameters] as (string | number)[]);
      return rows as { table: string; type: string }[];
    } finally {
      await connection.end();
    }
  }
});
