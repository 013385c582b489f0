import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { writeBehind } from '../db/write-behind.js';
import { insertDownloads, type DownloadLogEntry } from './repository.js';

export interface DownloadLog {
  /** Notes a download (its time is taken now, by the caller); written within `flushMs`. */
  record(entry: DownloadLogEntry): void;
  /** Writes what is noted so far (tests, and a stop). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  close(): Promise<void>;
}

const FLUSH_MS = 1000;
/** Rows per INSERT at most (4 parameters each: far below SQLite's and MySQL's limits). */
const ROWS_PER_WRITE = 128;
/** Rows kept through a database outage; past this the oldest are dropped (and counted in the warning). */
const MAX_HELD = 20_000;

/**
 * A power of two: each row count is a statement of its own to the database (and to the SQLite
 * statement cache, which a few hundred sizes would churn), so writes come in eight sizes only.
 */
function rowsForNextWrite(waiting: number): number {
  return Math.min(ROWS_PER_WRITE, 2 ** Math.floor(Math.log2(waiting)));
}

/**
 * The download log (who downloaded what and when: the customer's data export shows it) is written
 * behind the downloads, up to 128 rows in one INSERT each second, not one INSERT per download
 * (the media bench: on MySQL the insert was a sixth of a presigned download's store CPU). The
 * log guards nothing; a stop writes what is left, a crash loses at most the last second's rows,
 * and a database outage keeps them (up to MAX_HELD) for the next write. A row whose customer was
 * erased meanwhile is not written (repository.ts).
 */
export function createDownloadLog({ db, logger, flushMs = FLUSH_MS }: { db: Db; logger: Logger; flushMs?: number }): DownloadLog {
  let pending: DownloadLogEntry[] = [];
  let failing = false;

  async function writeOut(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.splice(0, rowsForNextWrite(pending.length));
      try {
        await insertDownloads(db, batch);
        failing = false;
      } catch (error) {
        failing = true;
        pending = batch.concat(pending);
        const dropped = Math.max(0, pending.length - MAX_HELD);
        if (dropped > 0) pending = pending.slice(dropped);
        // The reason only: the database's error object carries the statement, and with it the rows' customer ids.
        const reason = error instanceof Error ? error.message : String(error);
        logger.warn({ reason, held: pending.length, dropped }, 'download log: rows not written; will try again');
        return;
      }
    }
  }

  const writes = writeBehind(writeOut, flushMs);
  return {
    record(entry) {
      pending.push(entry);
      // A busy second writes as it goes; while the database is away, the timer alone tries again.
      if (pending.length >= ROWS_PER_WRITE && !failing) writes.nudge();
    },
    flush: writes.flush,
    close: writes.close,
  };
}
