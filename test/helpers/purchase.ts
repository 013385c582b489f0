import { Shopper, type Page } from './shopper.js';
import type { TestStore } from './store.js';

type ReleaseRef = { id: number; slug: string };

/**
 * Checks a release out over HTTP through the real checkout and approves it at the PayPal stand-in
 * as `email` (the first release unless one is named), stopping before the shopper returns: the
 * PayPal order id and the return address the browser would be sent to.
 */
export async function approvedAtPayPal(
  store: TestStore,
  email: string,
  options: { release?: ReleaseRef; marketing?: boolean; shopper?: Shopper; country?: string } = {},
): Promise<{ shopper: Shopper; paypalOrderId: string; returnUrl: string }> {
  const shopper = options.shopper ?? new Shopper(store.baseUrl);
  const release =
    options.release ?? (await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow());
  // The release page carries a form, so the shopper has a CSRF token to post with.
  await shopper.get(`/release/${release.slug}`);
  await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
  await shopper.get('/checkout');
  const pay = await shopper.post('/checkout', { method: 'paypal', adult: 'yes', ...(options.marketing ? { marketing: 'yes' } : {}) });
  if (pay.status !== 303 || !pay.location) throw new Error(`checkout answered ${pay.status}`);
  const paypalOrderId = new URL(pay.location).searchParams.get('token')!;
  const { redirectUrl } = store.paypal.control.approve(paypalOrderId, { email, country: options.country });
  return { shopper, paypalOrderId, returnUrl: redirectUrl! };
}

/** The whole purchase: approved at PayPal, then back to the store. Returns the shopper and the order page it lands on. */
export async function buyWithPayPal(
  store: TestStore,
  email: string,
  options: Parameters<typeof approvedAtPayPal>[2] = {},
): Promise<{ shopper: Shopper; orderPage: Page }> {
  const { shopper, returnUrl } = await approvedAtPayPal(store, email, options);
  return { shopper, orderPage: await shopper.follow(await shopper.get(returnUrl)) };
}
