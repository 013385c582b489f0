import type { BasketState } from '../basket/basket.js';

/** Everything a session may hold. Nothing here identifies a person beyond what login needs. */
declare module 'express-session' {
  interface SessionData {
    basket: BasketState;
    /** References of the orders this browser placed: only these are shown to it. */
    orderRefs: string[];
    flash: { kind: 'info' | 'error'; text: string }[];
    /** The signed-in customer, and when (for the absolute and idle time-outs). */
    customerId: number;
    signedInAt: number;
    lastSeenAt: number;
    /** Set at sign-in (and when a code is asked for): the session takes its own CSRF token only (src/web/security.ts). */
    identity: true;
    /** The contact a sign-in code was asked for, while its code is being typed. */
    signInContact: { email: string } | { msisdn: string };
  }
}

export {};
