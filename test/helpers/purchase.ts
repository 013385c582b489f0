import { Shopper, type Page } from './shopper.js';
import type { TestStore } from './store.js';

/**
 * Buys a release over HTTP through the real checkout, approved at the PayPal stand-in as `email`
 * (the first release unless one is named). Returns the shopper and the order page it lands on.
 */
export async function buyWithPayPal(
  store: TestStore,
  email: string,
  options: { release?: { id: number; slug: string }; marketing?: boolean; shopper?: Shopper } = {},
): Promise<{ shopper: Shopper; orderPage: Page }> {
  const shopper = options.shopper ?? new Shopper(store.baseUrl);
  const release = options.release ?? (await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow());
  // The release page carries a form, so the shopper has a CSRF token to post with.
  await shopper.get(`/release/${release.slug}`);
  await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
  await shopper.get('/checkout');
  const pay = await shopper.post('/checkout', { method: 'paypal', adult: 'yes', ...(options.marketing ? { marketing: 'yes' } : {}) });
  if (!pay.location) throw new Error(`checkout answered ${pay.status}`);
  const token = new URL(pay.location).searchParams.get('token')!;
  const { redirectUrl } = store.paypal.control.approve(token, { email });
  return { shopper, orderPage: await shopper.follow(await shopper.get(redirectUrl!)) };
}
