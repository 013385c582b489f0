import session from 'express-session';
import { LRUCache } from 'lru-cache';
import type { Db } from './database.js';
import { fromDbTime, toDbTime, upsert } from './dialect.js';
import { reusableQuery } from './reusable-query.js';

/** The one statement every request with a session runs, compiled once (reusable-query.ts). */
const liveSessionRow = reusableQuery((db, { sid, now }: { sid: string; now: string }) =>
  db.selectFrom('sessions').select(['data', 'expires_at']).where('sid', '=', sid).where('expires_at', '>', now),
);

type Callback = (err?: unknown, value?: any) => void;

/** A live session's row as read: its data and the expiry stored with it. */
export interface LiveSession {
  data: session.SessionData;
  expiresAt: string;
}

const ONE_DAY_MS = 24 * 60 * 60 * 1000;
const TOUCH_INTERVAL_MS = 10 * 60 * 1000;

/**
 * express-session's store, kept in our own database so that sessions work on both dialects and
 * across several app processes. Expired rows are ignored on read and pruned periodically.
 */
export class DatabaseSessionStore extends session.Store {
  private pruneTimer: NodeJS.Timeout | undefined;
  /**
   * The expiry each session had when this request read it: express-session reads the session at
   * the start of every request and touches it at the end, so touch() can tell without asking the
   * database again whether the row is fresh enough to leave alone (the purchase bench: one query
   * fewer on every request with a session).
   */
  private readExpiry = new LRUCache<string, string>({ max: 10_000 });
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
    pruneEveryMs = 15 * 60 * 1000,
    /** Told of a row that cannot be read (never given its contents): the request goes on without a session. */
    private readonly onUnreadable: (error: Error) => void = () => {},
  ) {
    super();
    if (pruneEveryMs > 0) {
      this.pruneTimer = setInterval(() => void this.prune().catch(() => {}), pruneEveryMs);
      this.pruneTimer.unref();
    }
  }

  /** The session with this id, unless it has expired (or cannot be read): one read by primary key. */
  async readLive(sid: string): Promise<LiveSession | null> {
    const [row] = await liveSessionRow(this.db, { sid, now: toDbTime(this.clock()) });
    const data = row ? this.parse(row.data) : null;
    return row && data ? { data, expiresAt: row.expires_at } : null;
  }

  override get(sid: string, callback: Callback): void {
    this.readLive(sid).then((live) => {
      if (live) this.readExpiry.set(sid, live.expiresAt);
      callback(null, live?.data ?? null);
    }, callback);
  }

  /**
   * A row that is not a session (corrupt JSON, say) is no session: the visitor starts afresh
   * rather than the process crashing, and only the fact is reported, never the row's contents.
   */
  private parse(data: string): session.SessionData | null {
    try {
      const parsed: unknown = JSON.parse(data);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as session.SessionData;
      this.onUnreadable(new Error('a stored session is not an object'));
    } catch {
      this.onUnreadable(new Error('a stored session is not valid JSON'));
    }
    return null;
  }

  override set(sid: string, data: session.SessionData, callback?: Callback): void {
    const row = { sid, expires_at: this.expiryOf(data), data: JSON.stringify(data) };
    upsert(this.db, 'sessions', row, ['sid'], ['expires_at', 'data']).then(
      () => callback?.(),
      (e) => callback?.(e),
    );
  }

  /** Extends an active session; writes at most once per TOUCH_INTERVAL, not on every page view. */
  override touch(sid: string, data: session.SessionData, callback?: Callback): void {
    const expires = this.expiryOf(data);
    const read = this.readExpiry.get(sid);
    this.readExpiry.delete(sid);
    if (read !== undefined && !isStale(read, expires)) return void callback?.();
    this.db
      .updateTable('sessions')
      .set({ expires_at: expires })
      .where('sid', '=', sid)
      .where('expires_at', '<', staleBefore(expires))
      .execute()
      .then(
        () => callback?.(),
        (e) => callback?.(e),
      );
  }

  /**
   * True when a request that changes nothing in this session would still write it: touch() on the
   * way out extends a row whose stored expiry is more than TOUCH_INTERVAL behind the one the cookie
   * is renewed to (express-session renews it from the cookie's max age, on the wall clock as it does).
   */
  wouldTouch({ data, expiresAt }: LiveSession): boolean {
    const maxAge = data.cookie?.originalMaxAge;
    const renewed = typeof maxAge === 'number' ? toDbTime(new Date(Date.now() + maxAge)) : this.expiryOf({} as session.SessionData);
    return isStale(expiresAt, renewed);
  }

  override destroy(sid: string, callback?: Callback): void {
    this.db
      .deleteFrom('sessions')
      .where('sid', '=', sid)
      .execute()
      .then(
        () => callback?.(),
        (e) => callback?.(e),
      );
  }

  async prune(): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', toDbTime(this.clock())).execute();
  }

  close(): void {
    clearInterval(this.pruneTimer);
  }

  private expiryOf(data: session.SessionData): string {
    const expires = data.cookie?.expires ? new Date(data.cookie.expires) : new Date(this.clock().getTime() + ONE_DAY_MS);
    return toDbTime(expires);
  }
}

/** The stored expiry below which touch() writes: TOUCH_INTERVAL before the renewed one. */
function staleBefore(renewed: string): string {
  return toDbTime(new Date(fromDbTime(renewed).getTime() - TOUCH_INTERVAL_MS));
}

/** Times are UTC 'YYYY-MM-DD HH:MM:SS': as strings they sort as the times do. */
function isStale(stored: string, renewed: string): boolean {
  return stored < staleBefore(renewed);
}
