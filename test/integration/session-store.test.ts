import type { SessionData } from 'express-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseSessionStore } from '../../src/db/session-store.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';

/** The session store's touch: a row is extended once it is ten minutes stale, and left alone before that. */
describe.each(databaseKinds())('the session store on $kind', ({ kind, skip }) => {
  let database: TestDatabase;
  let store: DatabaseSessionStore;
  let now = new Date('2026-11-20T12:00:00Z');
  const WEEK_MS = 7 * 24 * 3600_000;

  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase(kind);
    store = new DatabaseSessionStore(database.db, () => now, 0);
  });
  afterAll(async () => {
    store?.close();
    await database?.drop();
  });

  const data = (expiresInMs: number) =>
    ({
      cookie: { originalMaxAge: WEEK_MS, expires: new Date(now.getTime() + expiresInMs).toISOString(), httpOnly: true, path: '/' },
    }) as unknown as SessionData;
  const call = <T>(fn: (cb: (err?: unknown, value?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err as Error) : resolve(value as T))));
  const storedExpiry = async () =>
    (await database.db.selectFrom('sessions').select('expires_at').where('sid', '=', 'sid-1').executeTakeFirstOrThrow()).expires_at;
  /** One request: the session is read, then touched with the cookie's renewed expiry. */
  const request = async () => {
    const loaded = await call<SessionData | null>((cb) => store.get('sid-1', cb));
    expect(loaded).not.toBeNull();
    await call((cb) => store.touch('sid-1', data(WEEK_MS), cb));
  };

  it.skipIf(skip)('extends a session only when its stored expiry is more than ten minutes behind', async () => {
    await call((cb) => store.set('sid-1', data(WEEK_MS), cb));
    const first = await storedExpiry();
    now = new Date(now.getTime() + 9 * 60_000);
    await request();
    expect(await storedExpiry()).toBe(first);
    now = new Date(now.getTime() + 2 * 60_000);
    await request();
    expect(await storedExpiry()).toBe('2026-11-27 12:11:00');
    // A touch without a read in this process (another process read it) still asks the database.
    now = new Date(now.getTime() + 11 * 60_000);
    await call((cb) => store.touch('sid-1', data(WEEK_MS), cb));
    expect(await storedExpiry()).toBe('2026-11-27 12:22:00');
  });
});
