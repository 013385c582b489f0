import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { approvedAtPayPal } from '../helpers/purchase.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * Many new customers paying at the same moment (found by the purchase bench): on MySQL, a locking
 * read of a not-yet-existing email took a gap lock, and two such payments deadlocked on their
 * inserts, answering the shopper's return from PayPal with a 500.
 */
const SHOPPERS = 12;
const ROUNDS = 3;

describe.each(databaseKinds())('new customers paying at once on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let release: { id: number; slug: string };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind);
    release = await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
  });
  afterAll(async () => store?.close());

  const readyToReturn = (n: number) => approvedAtPayPal(store, `new-${kind}-${n}-${Date.now()}@example.com`, { release });

  it.skipIf(skip)(`pays ${SHOPPERS} new customers' orders returning from PayPal at the same moment, ${ROUNDS} times`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const ready = await Promise.all(Array.from({ length: SHOPPERS }, (_, i) => readyToReturn(round * SHOPPERS + i)));
      const returned = await Promise.all(ready.map(({ shopper, returnUrl }) => shopper.get(returnUrl)));
      expect(returned.map((r) => r.status)).toEqual(Array(SHOPPERS).fill(303));
    }
    const paid = await store.database.db
      .selectFrom('orders')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'paid')
      .executeTakeFirstOrThrow();
    expect(Number(paid.n)).toBe(SHOPPERS * ROUNDS);
    const customers = await store.database.db
      .selectFrom('customers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(customers.n)).toBe(SHOPPERS * ROUNDS);
  });
});
