import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startPayPalSandbox } from '../../sandbox/paypal/index.js';
import { browserJourney } from '../helpers/browser.js';

/**
 * The approval page in a real browser with JavaScript switched off: a buyer can approve, pay
 * with a declined card, or cancel, and the page's own CSP blocks nothing it needs.
 */

const ACCOUNT = { clientId: 'browser-client', clientSecret: 'browser-secret', webhookId: 'WHBROWSER1' };

/** The stand-in, and a merchant site for the buyer to return to. */
async function startSandboxAndMerchant() {
  const merchant = http.createServer((req, res) => res.end(`merchant saw ${req.url}`));
  await new Promise<void>((resolve) => merchant.listen(0, '127.0.0.1', resolve));
  const sandbox = await startPayPalSandbox(ACCOUNT).catch((error) => {
    merchant.close();
    throw error;
  });
  return {
    sandbox,
    merchantUrl: `http://127.0.0.1:${(merchant.address() as AddressInfo).port}`,
    async close() {
      await sandbox.close();
      merchant.closeAllConnections();
      merchant.close();
    },
  };
}

describe('the approval page in Chromium, without JavaScript', () => {
  const journey = browserJourney(startSandboxAndMerchant);

  async function createOrder(): Promise<{ id: string; approve: string }> {
    const { sandbox, merchantUrl } = journey.app;
    const auth = await fetch(`${sandbox.url}/v1/oauth2/token`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${ACCOUNT.clientId}:${ACCOUNT.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    const { access_token } = (await auth.json()) as { access_token: string };
    const res = await fetch(`${sandbox.url}/v2/checkout/orders`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${access_token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        intent: 'CAPTURE',
        purchase_units: [{ amount: { currency_code: 'GBP', value: '0.79' }, description: 'One track' }],
        application_context: {
          brand_name: 'Northern Lights Music',
          return_url: `${merchantUrl}/return`,
          cancel_url: `${merchantUrl}/cancel`,
        },
      }),
    });
    const order = (await res.json()) as { id: string; links: Array<{ rel: string; href: string }> };
    return { id: order.id, approve: order.links.find((l) => l.rel === 'approve')!.href };
  }

  async function openApprovalPage(href: string) {
    const context = await journey.browser.newContext({ javaScriptEnabled: false });
    const { page, errors: problems } = await journey.newPage(context);
    await page.goto(href);
    return { page, problems, close: () => context.close() };
  }

  it.skipIf(journey.skipped)('approves with the email the buyer typed and returns to the merchant', async () => {
    const order = await createOrder();
    const { page, problems, close } = await openApprovalPage(order.approve);
    expect(await page.title()).toContain('PayPal (test stand-in)');
    expect(await page.locator('.total').textContent()).toContain('£0.79');
    await page.fill('input[name=email]', 'listener@example.org');
    await page.click('button:text-is("Approve")');
    await page.waitForURL(/\/return\?/);
    const returned = new URL(page.url());
    expect(returned.searchParams.get('token')).toBe(order.id);
    expect(returned.searchParams.get('PayerID')).toMatch(/^[2-9A-HJ-NP-Z]{13}$/);
    const approved = journey.app.sandbox.control.orders().find((o) => o.id === order.id)!;
    expect(approved).toMatchObject({ status: 'APPROVED', payer: { email_address: 'listener@example.org' } });
    expect(problems).toEqual([]);
    await close();
  });

  it.skipIf(journey.skipped)('offers a card that will be declined, and a way to cancel', async () => {
    const declined = await createOrder();
    const first = await openApprovalPage(declined.approve);
    await first.page.click('button:text-is("Approve with a card that will be declined")');
    await first.page.waitForURL(/\/return\?/);
    await first.close();

    const cancelled = await createOrder();
    const second = await openApprovalPage(cancelled.approve);
    await second.page.click('button:text-is("Cancel")');
    await second.page.waitForURL(/\/cancel\?/);
    expect(new URL(second.page.url()).searchParams.get('token')).toBe(cancelled.id);
    expect(second.problems).toEqual([]);
    await second.close();
  });
});
