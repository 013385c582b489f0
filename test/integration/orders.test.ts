import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrdersService, type OrdersService } from '../../src/orders/service.js';
import { createTestDatabase, databaseKinds, type TestDatabase } from '../helpers/databases.js';

describe.each(databaseKinds())('the order state machine on $kind', ({ kind, skip }) => {
  let database: TestDatabase;
  let orders: OrdersService;
  let releaseId: number;

  beforeAll(async () => {
    if (skip) return;
    database = await createTestDatabase(kind);
    const now = '2026-11-20 12:00:00';
    const artist = await database.db.insertInto('artists').values({ name: 'A', slug: 'a', created_at: now }).executeTakeFirstOrThrow();
    const release = await database.db
      .insertInto('releases')
      .values({
        artist_id: Number(artist.insertId),
        genre_id: null,
        import_key: 'a/r',
        title: 'R',
        slug: 'a-r',
        kind: 'album',
        release_date: null,
        price_pence: 500,
        cover_file: null,
        created_at: now,
        updated_at: now,
      })
      .executeTakeFirstOrThrow();
    releaseId = Number(release.insertId);
    orders = createOrdersService({ db: database.db, clock: () => new Date('2026-11-20T12:00:00Z'), pendingMinutes: 60 });
  });
  afterAll(async () => database?.drop());

  const basket = () => ({
    lines: [
      {
        kind: 'release' as const,
        id: releaseId,
        releaseId,
        title: 'R',
        artistName: 'A',
        url: '/',
        coverUrl: null,
        detail: '',
        pricePence: 500,
      },
    ],
    totalPence: 500,
    dropped: 0,
  });
  const capture = (providerRef: string, captureRef: string) => ({
    method: 'payforit',
    providerRef,
    captureRef,
    amountPence: 500,
    currency: 'GBP',
    contact: { msisdn: '447700900999' },
    source: 'test',
  });
  const events = async (orderId: number) =>
    (await database.db.selectFrom('order_events').select('event').where('order_id', '=', orderId).orderBy('id').execute()).map(
      (e) => e.event,
    );

  it.skipIf(skip)('pays once, and records a second attempt charged after payment for a refund, once', async () => {
    const order = await orders.placeOrder({ basket: basket(), paymentMethod: 'payforit', marketingOptIn: false, affiliateId: null });
    await orders.paymentStarted(order.id, 'payforit', 'TX-A');
    await orders.paymentStarted(order.id, 'payforit', 'TX-B');
    expect(await orders.settleCapture(capture('TX-A', 'TX-A'))).toBe('paid');
    expect(await orders.settleCapture(capture('TX-A', 'TX-A'))).toBe('already-paid');
    expect(await orders.settleCapture(capture('TX-B', 'TX-B'))).toBe('already-paid');
    expect(await orders.settleCapture(capture('TX-B', 'TX-B'))).toBe('already-paid');
    expect(await events(order.id)).toEqual(['created', 'paid', 'duplicate_payment']);
    const second = await database.db
      .selectFrom('payments')
      .select(['status', 'capture_ref'])
      .where('provider_ref', '=', 'TX-B')
      .executeTakeFirstOrThrow();
    expect(second).toEqual({ status: 'captured', capture_ref: 'TX-B' });
  });

  it.skipIf(skip)('refuses transitions the state machine does not allow', async () => {
    const order = await orders.placeOrder({ basket: basket(), paymentMethod: 'payforit', marketingOptIn: false, affiliateId: null });
    expect(await orders.cancel(order.id, 'test')).toBe(true);
    expect(await orders.cancel(order.id, 'again')).toBe(false);
    await orders.paymentStarted(order.id, 'payforit', 'TX-C');
    expect(await orders.settleCapture(capture('TX-C', 'TX-C'))).toBe('paid'); // money that arrives is never refused
    expect(await orders.cancel(order.id, 'too late')).toBe(false);
    expect(await events(order.id)).toEqual(['created', 'cancelled', 'paid']);
  });
});
