/**
 * PayPal-Request-Id: a POST retried with the same id gets the first call's result instead of
 * acting twice. Only successes are remembered; a call that failed (say INSTRUMENT_DECLINED) may
 * be retried with the same id and is carried out afresh.
 */
export type IdempotentOperation = 'create' | 'capture' | 'refund';

export class RequestIds {
  private readonly results = new Map<string, string>();

  /** The id of the resource an earlier call with this request id produced, if any. */
  lookup(operation: IdempotentOperation, scope: string, requestId: string | undefined): string | undefined {
    return requestId === undefined ? undefined : this.results.get(key(operation, scope, requestId));
  }

  remember(operation: IdempotentOperation, scope: string, requestId: string | undefined, resourceId: string): void {
    if (requestId !== undefined) this.results.set(key(operation, scope, requestId), resourceId);
  }
}

/** A capture's or refund's request id is scoped to the order or capture it acts on. */
function key(operation: IdempotentOperation, scope: string, requestId: string): string {
  return JSON.stringify([operation, scope, requestId]);
}
