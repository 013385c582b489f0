import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromMinor, toMinor } from '../../sandbox/paypal/money.js';
import { DEFAULT_SPECS_DIR, loadPayPalSchemas, SPEC_NAMES } from '../../sandbox/paypal/schemas.js';
import { crc32 } from '../../sandbox/paypal/webhooks.js';

/**
 * The OpenAPI 3.0 -> JSON Schema conversion, proved on copies of PayPal's documents edited to use
 * what the originals happen not to (additionalProperties: false, nullable), so that a newer
 * document that does use them is judged right.
 */

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

type Json = Record<string, any>;

/** A copy of the three documents with the orders document changed by `edit`. */
function editedDocuments(edit: (orders: Json) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'paypal-specs-'));
  tempDirs.push(dir);
  for (const name of SPEC_NAMES) {
    const document = JSON.parse(fs.readFileSync(path.join(DEFAULT_SPECS_DIR, `${name}.json`), 'utf8'));
    if (name === 'checkout_orders_v2') edit(document);
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(document));
  }
  return dir;
}

const order = (unit: Json) => ({ intent: 'CAPTURE', purchase_units: [{ amount: { currency_code: 'GBP', value: '1.00' }, ...unit }] });

describe('PayPal schemas', () => {
  const real = loadPayPalSchemas().operation('checkout_orders_v2', 'post', '/v2/checkout/orders');

  it('keeps properties the schema does not forbid, and rejects them where it does', () => {
    expect(real.body(order({ colour: 'blue' }))).toEqual([]);
    const dir = editedDocuments((doc) => (doc.components.schemas.purchase_unit_request.additionalProperties = false));
    const strict = loadPayPalSchemas(dir).operation('checkout_orders_v2', 'post', '/v2/checkout/orders');
    expect(strict.body(order({ colour: 'blue' }))).toEqual([
      expect.objectContaining({ field: '/purchase_units/0/colour', issue: 'NOT_SUPPORTED', location: 'body' }),
    ]);
    expect(strict.body(order({}))).toEqual([]);
  });

  it("turns nullable: true into JSON Schema's null type", () => {
    expect(real.body(order({ description: null }))).toEqual([expect.objectContaining({ field: '/purchase_units/0/description' })]);
    const dir = editedDocuments((doc) => (doc.components.schemas.purchase_unit_request.properties.description.nullable = true));
    const nullable = loadPayPalSchemas(dir).operation('checkout_orders_v2', 'post', '/v2/checkout/orders');
    expect(nullable.body(order({ description: null }))).toEqual([]);
    expect(nullable.body(order({ description: 5 }))).toEqual([expect.objectContaining({ issue: 'INVALID_PARAMETER_SYNTAX' })]);
  });

  it('checks header parameters by their documented schema', () => {
    expect(real.parameters({ path: {}, headers: { 'paypal-request-id': 'x'.repeat(108) } })).toEqual([]);
    expect(real.parameters({ path: {}, headers: { 'paypal-request-id': 'x'.repeat(109) } })).toEqual([
      expect.objectContaining({ field: 'PayPal-Request-Id', location: 'header', issue: 'INVALID_STRING_LENGTH' }),
    ]);
  });

  it('takes issue descriptions from the documents, which differ by operation', () => {
    const schemas = loadPayPalSchemas();
    expect(schemas.issueDescription('checkout_orders_v2', 'post', '/v2/checkout/orders', 422, 'AMOUNT_MISMATCH')).toBe(
      'Should equal item_total + tax_total + shipping + handling + insurance - shipping_discount - discount.',
    );
    expect(
      schemas.issueDescription('checkout_orders_v2', 'post', '/v2/checkout/orders/{id}/capture', 400, 'MISSING_REQUIRED_PARAMETER'),
    ).toBe('A required field / parameter is missing');
    expect(schemas.issueDescription('checkout_orders_v2', 'post', '/v2/checkout/orders', 400, 'MISSING_REQUIRED_PARAMETER')).toBe(
      'A required parameter is missing.',
    );
  });

  it('refuses a document with a required readOnly property, which would need separate request and response views', () => {
    const dir = editedDocuments((doc) => (doc.components.schemas.order.allOf[1].required = ['id']));
    expect(() => loadPayPalSchemas(dir)).toThrow(/required and readOnly/);
  });

  it('says where it looked when the documents are missing', () => {
    expect(() => loadPayPalSchemas('/nonexistent/specs')).toThrow(/checkout_orders_v2\.json is missing/);
  });
});

describe('money and checksums', () => {
  it("works in minor units, honouring each currency's decimals", () => {
    expect(toMinor({ currency_code: 'GBP', value: '7.78' })).toBe(778n);
    expect(toMinor({ currency_code: 'GBP', value: '.5' })).toBe(50n);
    expect(toMinor({ currency_code: 'GBP', value: '7.785' })).toBeUndefined();
    expect(toMinor({ currency_code: 'JPY', value: '100.5' })).toBeUndefined();
    expect(toMinor({ currency_code: 'GBP', value: '999999999999999.99' })).toBe(99999999999999999n);
    expect(fromMinor(5n, 'GBP')).toEqual({ currency_code: 'GBP', value: '0.05' });
    expect(fromMinor(-778n, 'GBP').value).toBe('-7.78');
    expect(fromMinor(100n, 'JPY').value).toBe('100');
  });

  it('computes CRC-32 (IEEE) as PayPal signs it', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });
});
