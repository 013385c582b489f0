/**
 * The parts of PayPal's request bodies that the stand-in reads. The bodies themselves are checked
 * against the official schemas first (schemas.ts), so these types only describe what is known to
 * be there; anything else the caller sent is accepted and ignored, as PayPal does.
 */

export interface Money {
  currency_code: string;
  value: string;
}

export interface AmountBreakdown {
  item_total?: Money;
  shipping?: Money;
  handling?: Money;
  tax_total?: Money;
  insurance?: Money;
  shipping_discount?: Money;
  discount?: Money;
}

export interface Item {
  name: string;
  quantity: string;
  unit_amount: Money;
  tax?: Money;
  description?: string;
  sku?: string;
  category?: string;
}

export interface PurchaseUnitRequest {
  reference_id?: string;
  amount: Money & { breakdown?: AmountBreakdown };
  items?: Item[];
  description?: string;
  custom_id?: string;
  invoice_id?: string;
  soft_descriptor?: string;
  payee?: Record<string, unknown>;
  payment_instruction?: Record<string, unknown>;
  shipping?: Record<string, unknown>;
}

export interface ExperienceContext {
  brand_name?: string;
  return_url?: string;
  cancel_url?: string;
  shipping_preference?: string;
}

export interface OrderRequest {
  intent: 'CAPTURE' | 'AUTHORIZE';
  purchase_units: PurchaseUnitRequest[];
  application_context?: ExperienceContext;
  payment_source?: { paypal?: { experience_context?: ExperienceContext } } & Record<string, unknown>;
}

export interface RefundRequest {
  amount?: Money;
  custom_id?: string;
  invoice_id?: string;
  note_to_payer?: string;
}

export interface VerifyWebhookSignatureRequest {
  auth_algo: string;
  cert_url: string;
  transmission_id: string;
  transmission_sig: string;
  transmission_time: string;
  webhook_id: string;
  webhook_event: Record<string, unknown>;
}

/** A HATEOAS link as PayPal writes them. */
export interface Link {
  href: string;
  rel: string;
  method: 'GET' | 'POST' | 'PATCH';
}
