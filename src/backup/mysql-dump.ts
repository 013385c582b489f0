import { Readable } from 'node:stream';
import { escape, escapeId, type Connection as CallbackConnection } from 'mysql2';
import type { Connection } from 'mysql2/promise';
import { gzipInto } from './compression.js';
import { DumpInspector } from './dump-inspector.js';
import { connectForBackup, listMysqlTables, runClientTool, withBackupConnection } from './mysql-connection.js';

export interface DumpStats {
  tables: number;
  rows: number;
}

export interface DumpCallbacks {
  /** A table (or view) is being dumped: `done` counts it, of `total` (known before the dump starts). */
  onTable: (done: number, name: string) => void;
  /** Uncompressed SQL bytes written so far. */
  onBytes: (total: number) => void;
}

/** The last line of every dump this store writes; restore refuses a file without it. */
export const DRIVER_DUMP_END = '-- store backup completed';

export async function countTables(url: string): Promise<number> {
  return withBackupConnection(url, async (connection) => (await listMysqlTables(connection)).length);
}

/**
 * mysqldump/mariadb-dump in one consistent snapshot (--single-transaction), piped through the
 * DEFINER filter and gzip into `file`. The password goes through a private option file.
 */
export async function dumpWithClient(url: string, program: string, file: string, callbacks: DumpCallbacks): Promise<DumpStats> {
  const inspector = new DumpInspector(callbacks.onTable);
  const { code, stderr } = await runClientTool(
    url,
    program,
    ['--single-transaction', '--routines', '--triggers', '--hex-blob', '--default-character-set=utf8mb4'],
    ['ignore', 'pipe', 'pipe'],
    (child) => gzipInto(child.stdout!.pipe(inspector), file, callbacks.onBytes),
  );
  if (code !== 0) throw new Error(`${program} failed (exit ${code}): ${stderr || 'no message'}`);
  if (!inspector.completed) throw new Error(`${program} stopped before the end of the dump`);
  return { tables: inspector.tablesSeen, rows: inspector.rows };
}

/** The dump written through the driver when the client tools are not installed. */
export async function dumpWithDriver(url: string, file: string, callbacks: DumpCallbacks): Promise<DumpStats> {
  const connection = await connectForBackup(url);
  const stats: DumpStats = { tables: 0, rows: 0 };
  try {
    await gzipInto(Readable.from(driverDump(connection, stats, callbacks)), file, callbacks.onBytes);
    return stats;
  } finally {
    await connection.end();
  }
}

const INSERT_BATCH_BYTES = 256 * 1024;

/**
 * Every table's CREATE and rows, then the views, read inside one REPEATABLE READ transaction
 * started WITH CONSISTENT SNAPSHOT, so all tables are seen at one instant while the store keeps
 * writing. One statement per line for the rows (escaping never leaves a raw newline); DDL
 * statements end with `;` at the end of a line. Both the mysql client and our splitter read it.
 */
async function* driverDump(connection: Connection, stats: DumpStats, callbacks: DumpCallbacks): AsyncGenerator<string> {
  await connection.query(`SET SESSION time_zone = '+00:00'`);
  await connection.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
  await refuseUnsupportedObjects(connection);
  const tables = await listMysqlTables(connection);
  yield `-- Music store backup, written through the driver at ${new Date().toISOString()}\n`;
  yield `SET NAMES utf8mb4;\nSET TIME_ZONE = '+00:00';\nSET FOREIGN_KEY_CHECKS = 0;\nSET UNIQUE_CHECKS = 0;\nSET SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO';\n`;
  for (const table of tables.filter((t) => !t.view)) {
    callbacks.onTable(++stats.tables, table.name);
    const [created] = await connection.query(`SHOW CREATE TABLE ${escapeId(table.name)}`);
    yield `\n-- Table ${escapeId(table.name)}\nDROP TABLE IF EXISTS ${escapeId(table.name)};\n${(created as Record<string, string>[])[0]!['Create Table']};\n`;
    yield* tableRows(connection, table.name, stats);
  }
  for (const view of orderViews(
    await viewDefinitions(
      connection,
      tables.filter((t) => t.view).map((t) => t.name),
    ),
  )) {
    callbacks.onTable(++stats.tables, view.name);
    yield `\n-- View ${escapeId(view.name)}\nDROP VIEW IF EXISTS ${escapeId(view.name)};\n${view.definition};\n`;
  }
  await connection.query('COMMIT');
  yield `\nSET FOREIGN_KEY_CHECKS = 1;\nSET UNIQUE_CHECKS = 1;\n${DRIVER_DUMP_END}\n`;
}

/** The store has no triggers or routines; if an operator added some, only the client tools copy them. */
async function refuseUnsupportedObjects(connection: Connection): Promise<void> {
  const [rows] = await connection.query(
    `select (select count(*) from information_schema.triggers where trigger_schema = database())
          + (select count(*) from information_schema.routines where routine_schema = database()) as n`,
  );
  if (Number((rows as { n: number | string }[])[0]!.n) > 0) {
    throw new Error(
      'the database has triggers or stored routines, which the driver-based dump does not copy: install mariadb-dump or mysqldump',
    );
  }
}

async function* tableRows(connection: Connection, table: string, stats: DumpStats): AsyncGenerator<string> {
  const [columnRows] = await connection.query(
    `select column_name as name from information_schema.columns
     where table_schema = database() and table_name = ? and coalesce(generation_expression, '') = '' order by ordinal_position`,
    [table],
  );
  const columns = (columnRows as { name: string }[]).map((c) => escapeId(c.name)).join(', ');
  const head = `INSERT INTO ${escapeId(table)} (${columns}) VALUES `;
  let batch: string[] = [];
  let batchBytes = 0;
  // The underlying callback connection (untyped in mysql2's promise typings) streams rows instead
  // of loading the whole table.
  const core = (connection as unknown as { connection: CallbackConnection }).connection;
  const rows = core.query({ sql: `SELECT ${columns} FROM ${escapeId(table)}`, rowsAsArray: true }).stream();
  for await (const row of rows as AsyncIterable<unknown[]>) {
    const tuple = `(${row.map((value) => escape(value as never)).join(',')})`;
    batch.push(tuple);
    batchBytes += tuple.length;
    stats.rows++;
    if (batchBytes >= INSERT_BATCH_BYTES) {
      yield `${head}${batch.join(',')};\n`;
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length) yield `${head}${batch.join(',')};\n`;
}

async function viewDefinitions(connection: Connection, names: string[]): Promise<{ name: string; definition: string }[]> {
  const views = [];
  for (const name of names) {
    const [rows] = await connection.query(`SHOW CREATE VIEW ${escapeId(name)}`);
    const definition = (rows as Record<string, string>[])[0]!['Create View']!;
    // Without DEFINER the view belongs to whoever restores it, in whatever database.
    views.push({ name, definition: definition.replace(/\s*DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*`/, '') });
  }
  return views;
}

/** Views that read other views come after them. */
function orderViews(views: { name: string; definition: string }[]): { name: string; definition: string }[] {
  const ordered: typeof views = [];
  let remaining = views;
  while (remaining.length) {
    const ready = remaining.filter((v) => !remaining.some((other) => other !== v && v.definition.includes(escapeId(other.name))));
    const next = ready.length ? ready : remaining; // a cycle cannot exist in MySQL; never loop forever
    ordered.push(...next);
    remaining = remaining.filter((v) => !next.includes(v));
  }
  return ordered;
}
