import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import { orderConfirmationSms, orderNoticeSms, signInCodeSms } from '../../src/notifications/templates.js';
import { newOrderReference } from '../../src/orders/reference.js';
import { SHORT_LINK_PATH } from '../../src/customers/sign-in.js';

/**
 * Every SMS the store writes, with the longest values each part can take, must be one GSM-7
 * segment (160 characters): two segments cost twice. What the store cannot bound is the operator's
 * own STORE_NAME and PUBLIC_URL: together at most BUDGET characters keep the confirmation to one
 * text (the default name and a 37-character address such as https://www.northernlightsmusic.co.uk).
 */
const BUDGET = 58;
const STORE_NAME = 'Northern Lights Music';
const PUBLIC_URL = 'https://www.northernlightsmusic.co.uk';
/** The largest charge PAYFORIT_MAX_PENCE allows (1,000,000 pence), the widest price written. */
const LONGEST_PRICE_PENCE = 1_000_000;
/** A sign-in link's token (32 random bytes, base64url): always 43 characters. */
const TOKEN = 'A'.repeat(43);
const longestItems = [{ title: 'x'.repeat(300), price_pence: LONGEST_PRICE_PENCE }];

const segments = (text: string) => {
  const message = new SegmentedMessage(text);
  return { encoding: message.encodingName, segments: message.segmentsCount, length: text.length };
};

function confirmation(storeName: string, publicUrl: string) {
  return orderConfirmationSms({
    storeName,
    reference: newOrderReference(),
    items: longestItems,
    totalPence: LONGEST_PRICE_PENCE,
    vatPence: 0,
    vatRate: '20%',
    seller: { companyName: storeName, vatNumber: null },
    login: '+44 7700 900123',
    signInUrl: `${publicUrl}/account/link/${TOKEN}`,
    shortSignInUrl: `${publicUrl}${SHORT_LINK_PATH}${TOKEN}`,
    musicUrl: `${publicUrl}/account/music`,
  });
}

describe('every SMS template with the longest values', () => {
  it('keeps the values at their longest: a reference is always 17 characters, the price at its widest', () => {
    expect(STORE_NAME.length + PUBLIC_URL.length).toBe(BUDGET);
    expect(newOrderReference()).toHaveLength(17);
  });

  it('the order confirmation is one GSM-7 segment, with a sign-in link', async () => {
    const { text } = await confirmation(STORE_NAME, PUBLIC_URL);
    expect(text).toContain(`${PUBLIC_URL}/l/${TOKEN}`);
    expect(text).toContain('£10,000.00');
    expect(segments(text)).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    // One character past the budget is where it stops fitting (so the budget above is the real one).
    expect(segments((await confirmation(STORE_NAME, `${PUBLIC_URL}x`)).text).segments).toBe(2);
  });

  it.each(['order-refunded', 'order-cancelled'] as const)('%s is one GSM-7 segment', async (name) => {
    const { text } = await orderNoticeSms(name, {
      storeName: STORE_NAME,
      reference: newOrderReference(),
      items: longestItems,
      totalPence: LONGEST_PRICE_PENCE,
      methodName: 'Mobile phone bill',
      storeUrl: `${PUBLIC_URL}/`,
    });
    expect(segments(text)).toMatchObject({ encoding: 'GSM-7', segments: 1 });
  });

  it('the sign-in code is one GSM-7 segment', async () => {
    const { text } = await signInCodeSms({ storeName: 'x'.repeat(80), code: '123456' });
    expect(segments(text)).toMatchObject({ encoding: 'GSM-7', segments: 1 });
  });
});
