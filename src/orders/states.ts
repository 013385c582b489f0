import type { OrderStatus } from '../db/schema.js';

/**
 * The order state machine. Money that arrives is never refused: a capture for an order that
 * expired, failed or was cancelled still makes it paid (the shopper did pay).
 */
export const TRANSITIONS: Record<OrderStatus, OrderStatus[]> = {
  pending: ['paid', 'failed', 'cancelled', 'expired'],
  failed: ['paid'],
  cancelled: ['paid'],
  expired: ['paid'],
  paid: ['refunded'],
  refunded: [],
};

export function statesThatCanBecome(target: OrderStatus): OrderStatus[] {
  return (Object.keys(TRANSITIONS) as OrderStatus[]).filter((from) => TRANSITIONS[from].includes(target));
}
