import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { signInCustomer } from '../helpers/sign-in.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { startTestStore, type TestStore } from '../helpers/store.js';
import { STORE_BIN, storeCliEnv } from '../helpers/cli.js';

const run = promisify(execFile);

describe.each(databaseKinds())('customer export and erasure on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let release: { id: number; slug: string };

  const db = () => store.database.db;
  const cli = (...args: string[]) =>
    run('node', [STORE_BIN, ...args], {
      env: storeCliEnv(store),
    });

  const buyAndSignIn = async (email: string) => {
    const { shopper } = await buyWithPayPal(store, email, { release, marketing: true });
    await signInCustomer(store, email, shopper);
    const track = await db().selectFrom('tracks').select('id').where('release_id', '=', release.id).executeTakeFirstOrThrow();
    expect((await shopper.get(`/download/track/${track.id}`)).status).toBe(200);
    return shopper;
  };

  /** Every row of every table and view, as text. */
  const dumpEverything = async () => {
    const tables = await db().introspection.getTables();
    const dumps: string[] = [];
    for (const table of tables) {
      const rows = await db()
        .selectFrom(table.name as never)
        .selectAll()
        .execute();
      dumps.push(`${table.name}: ${JSON.stringify(rows)}`);
    }
    return dumps.join('\n').toLowerCase();
  };

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind, { env: { SIGN_IN_LIMIT_PER_CLIENT: '1000' } });
    release = await db().selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
  });
  afterAll(async () => store?.close());

  it.skipIf(skip)('exports everything held about a customer as JSON', async () => {
    await buyAndSignIn('export.me@example.com');
    const { stdout } = await cli('customer', 'export', 'Export.Me@example.com');
    const data = JSON.parse(stdout);
    expect(data.account).toMatchObject({ email: 'export.me@example.com', marketingOptIn: true });
    expect(data.account.marketingChoiceAt).toBeTruthy();
    expect(data.orders).toHaveLength(1);
    expect(data.orders[0].status).toBe('paid');
    expect(data.orders[0].items.length).toBeGreaterThan(0);
    expect(data.orders[0].payments[0]).toMatchObject({ method: 'paypal' });
    expect(data.messages.length).toBeGreaterThanOrEqual(2);
    expect(data.downloads).toHaveLength(1);
    const missing = await cli('customer', 'export', 'nobody@example.com').catch((e) => e);
    expect(missing.code).toBe(1);
  });

  it.skipIf(skip)('erases the contact detail from every table, keeps the order anonymously, and leaves other customers alone', async () => {
    const shopper = await buyAndSignIn('forget.me@example.com');
    await buyAndSignIn('keep.me@example.com');
    const order = await db()
      .selectFrom('orders')
      .innerJoin('customers', 'customers.id', 'orders.customer_id')
      .select(['orders.id', 'orders.total_pence'])
      .where('customers.email', '=', 'forget.me@example.com')
      .executeTakeFirstOrThrow();
    expect(await dumpEverything()).toContain('forget.me@example.com');
    // Codes of every kind of person share one table with no foreign key to customers: erasure must remove them itself.
    const codesOf = (customerId: number) =>
      db().selectFrom('sign_in_codes').select('id').where('owner_kind', '=', 'customer').where('owner_id', '=', customerId).execute();
    const idOf = async (email: string) =>
      (await db().selectFrom('customers').select('id').where('email', '=', email).executeTakeFirstOrThrow()).id;
    const [forgotten, keeper] = [await idOf('forget.me@example.com'), await idOf('keep.me@example.com')];
    expect(await codesOf(forgotten)).toHaveLength(1);

    const { stdout } = await cli('customer', 'erase', 'forget.me@example.com');
    expect(stdout).toMatch(/1 order\(s\) kept anonymously/);

    const dump = await dumpEverything();
    expect(dump).not.toContain('forget.me@example.com');
    expect(dump).toContain('keep.me@example.com');
    expect(await codesOf(forgotten)).toHaveLength(0);
    expect(await codesOf(keeper)).toHaveLength(1);
    const kept = await db().selectFrom('orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow();
    expect(kept).toMatchObject({ customer_id: null, status: 'paid', total_pence: order.total_pence });
    expect(await db().selectFrom('order_items').selectAll().where('order_id', '=', order.id).execute()).not.toHaveLength(0);
    // The erased customer's browser session is gone with the account.
    expect((await shopper.get('/account/music')).location).toBe('/account');
    // The same email address can buy again as a new customer.
    await buyAndSignIn('forget.me@example.com');
  });
});
