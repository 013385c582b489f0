/**
 * Every cookie the store can set, in one list. The code that sets a cookie takes its name and
 * lifetime from here, and the privacy policy prints this same list, so the policy cannot drift
 * from what the store does (test/integration/privacy.test.ts and test/browser/privacy.test.ts
 * compare it with the cookies a browser actually receives).
 */
import type { Config } from '../config.js';

export interface CookieDescription {
  name: string;
  purpose: string;
  /** What the cookie holds, in words. */
  content: string;
  /** How long it lasts, in words for the policy. */
  lifetime: string;
  maxAgeMs: number;
  /** Set only once the visitor accepted cookies. */
  needsConsent: boolean;
}

const DAY_MS = 24 * 3600_000;
const days = (n: number) => `${n} day${n === 1 ? '' : 's'}`;

export const SESSION_COOKIE = { name: 'sid', days: 7 } as const;
export const AFFILIATE_COOKIE_NAME = 'a';
export const CONSENT_COOKIE = { name: 'consent', days: 180 } as const;
/** Binds the token in a form to the visitor who was shown it (src/web/security.ts). */
export const VISITOR_TOKEN_COOKIE = 'csrf';

/** Whether the store sets any cookie that waits for the visitor's consent (so the banner is shown). */
export function consentNeeded(config: CookieConfig): boolean {
  return config.affiliates.consent === 'required' || !!config.gaMeasurementId;
}

type CookieConfig = Pick<Config, 'affiliates'> & { gaMeasurementId?: string | null };

/** Google's hosts the analytics tag loads from and reports to (allowed by the CSP only when configured). */
export const ANALYTICS_HOSTS = {
  script: ['https://www.googletagmanager.com'],
  connect: ['https://*.google-analytics.com', 'https://*.analytics.google.com', 'https://*.googletagmanager.com'],
  img: ['https://*.google-analytics.com', 'https://*.googletagmanager.com'],
};

export function storeCookies(config: CookieConfig): CookieDescription[] {
  const list: CookieDescription[] = [
    {
      name: SESSION_COOKIE.name,
      purpose: 'Keeps your basket and, once you sign in, your login between pages. Set when you add something to your basket or sign in.',
      content: 'A random session identifier; the session itself is kept on our server.',
      lifetime: `${days(SESSION_COOKIE.days)}, renewed while you use the store; removed when you sign out`,
      maxAgeMs: SESSION_COOKIE.days * DAY_MS,
      needsConsent: false,
    },
    {
      name: VISITOR_TOKEN_COOKIE,
      purpose:
        "Protects your forms: proves that a form sent to us was one we showed you, not another site's. Set when a page with a form is shown to you before you have a session.",
      content: 'A random value; the form carries a signature of it.',
      lifetime: 'until you close your browser',
      maxAgeMs: 0,
      needsConsent: false,
    },
    {
      name: AFFILIATE_COOKIE_NAME,
      purpose: 'Remembers which affiliate sent you here, so that they can be credited if you buy.',
      content: "Only the affiliate's number (digits, nothing else). It says nothing about you.",
      lifetime: days(config.affiliates.cookieDays),
      maxAgeMs: config.affiliates.cookieDays * DAY_MS,
      needsConsent: config.affiliates.consent === 'required',
    },
  ];
  if (config.gaMeasurementId) {
    const ANALYTICS_DAYS = 400;
    const note = 'Set by the Google Analytics tag, which is loaded only if you accept cookies: counts visits and how the store is used.';
    list.push(
      {
        name: '_ga',
        purpose: note,
        content: 'A random visitor identifier chosen by Google Analytics.',
        lifetime: `${ANALYTICS_DAYS} days (Google's default)`,
        maxAgeMs: ANALYTICS_DAYS * DAY_MS,
        needsConsent: true,
      },
      {
        name: `_ga_${config.gaMeasurementId.replace(/^G-/, '')}`,
        purpose: note,
        content: 'The state of your current visit, kept by Google Analytics.',
        lifetime: `${ANALYTICS_DAYS} days (Google's default)`,
        maxAgeMs: ANALYTICS_DAYS * DAY_MS,
        needsConsent: true,
      },
    );
  }
  if (consentNeeded(config)) {
    list.push({
      name: CONSENT_COOKIE.name,
      purpose: 'Remembers whether you accepted or declined the cookies that need your consent.',
      content: '"yes" or "no".',
      lifetime: days(CONSENT_COOKIE.days),
      maxAgeMs: CONSENT_COOKIE.days * DAY_MS,
      needsConsent: false,
    });
  }
  return list;
}

export function cookieMaxAge(config: CookieConfig, name: string): number {
  const cookie = storeCookies(config).find((c) => c.name === name);
  if (!cookie) throw new Error(`cookie ${name} is not in the privacy policy's list (src/privacy/cookies.ts)`);
  return cookie.maxAgeMs;
}
