import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** Where everything lives when nothing is configured: an embedded database and media under data/. */
const DEFAULT_DATA_DIR = 'data';
const INSECURE_DEV_SECRET = 'development-only-session-secret-change-me';

const flag = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const pence = z.coerce.number().int().min(0).max(1_000_000);

/** 'orders@example.com' or 'Northern Lights Music <orders@example.com>'. */
const MAIL_FROM_PATTERN = /^(?:[^<>@\r\n]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/;
/** E.164, or an alphanumeric sender ID (1 to 11 letters, digits and spaces, at least one letter). */
const SMS_FROM_PATTERN = /^(?:\+[1-9]\d{6,14}|(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9 ]{1,11})$/;
const DEFAULT_MAIL_FROM = 'Northern Lights Music <orders@localhost>';
/** Outside production the policy and contact page name this placeholder; production refuses it. */
const EXAMPLE_CONTACT_EMAIL = 'privacy@example.com';

/** `NAME=` in a .env file (as copied from .env.example) means "not set". */
const unsetWhenEmpty = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.string().url().optional(),
  STORE_NAME: z.string().min(1).max(80).default('Northern Lights Music'),
  DATA_DIR: z.string().min(1).default(DEFAULT_DATA_DIR),
  DATABASE_URL: z.string().min(1).optional(),
  MEDIA_DIR: z.string().min(1).optional(),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TRUST_PROXY: z.string().default('false'),
  DEMO_CATALOGUE: flag.default('true'),
  TRACK_PRICE_PENCE: pence.default(79),
  RELEASE_PRICE_PENCE: pence.default(699),
  CATALOGUE_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CONTACT_EMAIL: z.string().email().default(EXAMPLE_CONTACT_EMAIL),
  COMPANY_NAME: unsetWhenEmpty(z.string().min(1).max(120).optional()),
  INFO_OFFICER_NAME: unsetWhenEmpty(z.string().min(1).max(120).optional()),
  INFO_OFFICER_EMAIL: unsetWhenEmpty(z.string().email().optional()),
  DATA_HOSTING: unsetWhenEmpty(z.string().min(1).max(300).default('on servers in the United Kingdom')),
  GA_MEASUREMENT_ID: unsetWhenEmpty(
    z
      .string()
      .regex(/^G-[A-Z0-9]{4,20}$/, 'must be a Google Analytics 4 measurement ID such as G-ABC123XYZ')
      .optional(),
  ),
  CONTACT_LIMIT_PER_CLIENT: unsetWhenEmpty(z.coerce.number().int().min(1).max(100_000).default(5)),
  SIGN_IN_LIMIT_PER_CLIENT: z.coerce.number().int().min(1).max(100_000).default(10),
  PAID_SESSION_DOWNLOAD_HOURS: unsetWhenEmpty(
    z.coerce
      .number()
      .int()
      .min(0)
      .max(7 * 24)
      .default(24),
  ),
  ORDER_PENDING_MINUTES: z.coerce
    .number()
    .int()
    .min(5)
    .max(7 * 24 * 60)
    .default(60),
  PAYPAL_API_BASE: z.string().url().optional(),
  PAYPAL_CLIENT_ID: z.string().min(1).optional(),
  PAYPAL_CLIENT_SECRET: z.string().min(1).optional(),
  PAYPAL_WEBHOOK_ID: z.string().min(1).optional(),
  PAYPAL_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  PAYFORIT_API_BASE: unsetWhenEmpty(z.string().url().optional()),
  PAYFORIT_MERCHANT_ID: unsetWhenEmpty(z.string().min(1).max(64).optional()),
  PAYFORIT_SECRET: unsetWhenEmpty(
    z
      .string()
      .refine((s) => Buffer.byteLength(s, 'utf8') >= 32, 'must be at least 32 bytes')
      .optional(),
  ),
  PAYFORIT_MAX_PENCE: unsetWhenEmpty(z.coerce.number().int().min(1).max(1_000_000).default(1000)),
  SMTP_URL: unsetWhenEmpty(
    z
      .string()
      .regex(/^smtps?:\/\/[^/?#]+/i, 'must be smtp://[user:pass@]host[:port] or smtps://...')
      .optional(),
  ),
  MAIL_FROM: unsetWhenEmpty(z.string().max(254).regex(MAIL_FROM_PATTERN, "must be an address, or 'Name <address>'").optional()),
  TWILIO_API_BASE: unsetWhenEmpty(z.string().url().default('https://api.twilio.com')),
  TWILIO_ACCOUNT_SID: unsetWhenEmpty(
    z
      .string()
      .regex(/^AC[0-9a-fA-F]{32}$/, 'must be AC followed by 32 hex digits')
      .optional(),
  ),
  TWILIO_AUTH_TOKEN: unsetWhenEmpty(z.string().min(16).max(128).optional()),
  SMS_FROM: unsetWhenEmpty(
    z
      .string()
      .regex(SMS_FROM_PATTERN, 'must be an E.164 number such as +447700900000 or an alphanumeric sender ID of up to 11 characters')
      .optional(),
  ),
  OUTBOX_POLL_MS: unsetWhenEmpty(z.coerce.number().int().min(50).max(60_000).default(1000)),
  AFFILIATE_COOKIE_DAYS: unsetWhenEmpty(z.coerce.number().int().min(1).max(730).default(30)),
  AFFILIATE_ATTRIBUTION: unsetWhenEmpty(z.enum(['first', 'last']).default('last')),
  AFFILIATE_COOKIE_CONSENT: unsetWhenEmpty(z.enum(['implied', 'required']).default('implied')),
  AFFILIATE_HOLD_DAYS: unsetWhenEmpty(z.coerce.number().int().min(0).max(365).default(30)),
  BACKUP_KEEP: unsetWhenEmpty(z.coerce.number().int().min(1).max(10_000).default(7)),
  USAGE_STATS: unsetWhenEmpty(flag.default('true')),
  MEDIA_STORAGE: unsetWhenEmpty(z.enum(['local', 's3']).default('local')),
  S3_ENDPOINT: unsetWhenEmpty(z.string().url().optional()),
  S3_BUCKET: unsetWhenEmpty(
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)')
      .optional(),
  ),
  S3_REGION: unsetWhenEmpty(z.string().min(1).max(40).default('us-east-1')),
  S3_ACCESS_KEY_ID: unsetWhenEmpty(z.string().min(1).max(128).optional()),
  S3_SECRET_ACCESS_KEY: unsetWhenEmpty(z.string().min(1).max(256).optional()),
  S3_FORCE_PATH_STYLE: unsetWhenEmpty(flag.default('false')),
  PUBLIC_MEDIA_URL: unsetWhenEmpty(z.string().url().optional()),
  DOWNLOAD_FORMATS: unsetWhenEmpty(z.string().default('mp3-320,mp3-v0,flac')),
  FFMPEG_PATH: unsetWhenEmpty(z.string().min(1).default('ffmpeg')),
  OWN_LABEL_NAME: unsetWhenEmpty(z.string().min(1).max(200).optional()),
  VAT_RATE: unsetWhenEmpty(
    z
      .string()
      .regex(/^\d{1,2}(\.\d{1,2})?$/, 'must be a percentage such as 20 or 17.5')
      .default('20'),
  ),
  VAT_NUMBER: unsetWhenEmpty(
    z
      .string()
      .regex(/^[A-Z]{2}[A-Z0-9 ]{2,14}$/, 'must be a VAT registration number such as GB123456789')
      .optional(),
  ),
  STORE_TERRITORY: unsetWhenEmpty(
    z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166 two-letter country code such as GB')
      .default('GB'),
  ),
  DDEX_PRICE_TIERS: unsetWhenEmpty(
    z
      .string()
      .regex(
        /^([A-Za-z0-9_ -]{1,40}=\d{1,6})(,[A-Za-z0-9_ -]{1,40}=\d{1,6})*$/,
        'must be TIER=PENCE pairs separated by commas, such as Front=999,Mid=699,Budget=499',
      )
      .default('Front=999,Mid=699,Budget=499'),
  ),
});

export interface PayPalSettings {
  apiBase: string;
  clientId: string;
  clientSecret: string;
  webhookId: string;
}

/** The mobile-billing intermediary (../shared/specs/payforit.md). */
export interface PayForItSettings {
  apiBase: string;
  merchantId: string;
  secret: string;
  /** The largest single charge the scheme allows, in pence. */
  maxPence: number;
  /** Where the shopper's browser reaches the payment page, when not at apiBase (the mounted stand-in). */
  payPageBase?: string;
}

/** Outgoing email: SMTP when smtpUrl is set, else (never in production) the local mail folder. */
export interface MailSettings {
  smtpUrl: string | null;
  from: string;
  /** DATA_DIR/mail: where the test mode writes messages instead of sending them. */
  folder: string;
}

/** The Twilio account SMS go through (TWILIO_*, SMS_FROM). */
export interface TwilioSettings {
  apiBase: string;
  accountSid: string;
  authToken: string;
  from: string;
}

export type DatabaseTarget = { kind: 'sqlite'; file: string } | { kind: 'mysql'; url: string };

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  publicUrl: string | undefined;
  storeName: string;
  dataDir: string;
  mediaDir: string;
  database: DatabaseTarget;
  sessionSecret: string;
  /** Express's `trust proxy` value: false, true, a hop count or a list of addresses. */
  trustProxy: boolean | number | string;
  demoCatalogue: boolean;
  prices: { trackPence: number; releasePence: number };
  /** How long a process may reuse catalogue page data (0: never). */
  catalogueCacheSeconds: number;
  logLevel: string;
  contactEmail: string;
  /** Who the privacy policy names and the contact form writes to (src/privacy/). */
  privacy: PrivacySettings;
  /** GA_MEASUREMENT_ID: the Google Analytics tag, served only to visitors who accepted cookies; null: none. */
  gaMeasurementId: string | null;
  /** Contact-form messages one client may send per hour. */
  contactLimitPerClient: number;
  pendingOrderMinutes: number;
  /** How long after payment the browser that paid may download that order's music without signing in (0: only after signing in). */
  paidSessionDownloadHours: number;
  /** Sign-in code requests one client may make per 15 minutes (code checks: three times this). */
  signInLimitPerClient: number;
  /** How long to wait for PayPal before treating a call as lost. */
  paypalTimeoutMs: number;
  /** null: no PayPal account configured, so (outside production) the local stand-in is used. */
  paypal: PayPalSettings | null;
  /** The largest single charge mobile billing allows (PAYFORIT_MAX_PENCE), used by the stand-in too. */
  payforitMaxPence: number;
  /** null: no mobile-billing intermediary configured, so (outside production) the local stand-in is used. */
  payforit: PayForItSettings | null;
  mail: MailSettings;
  /** null: no Twilio account configured, so (outside production) the local SMS stand-in is used. */
  twilio: TwilioSettings | null;
  /** How often an idle outbox worker looks for messages to send. */
  outboxPollMs: number;
  /** The `a` cookie and commissions (src/affiliates/). */
  affiliates: AffiliateSettings;
  /** BACKUP_KEEP: how many backups of the database's kind `npx store backup` keeps (src/backup/). */
  backupKeep: number;
  /** USAGE_STATS: first-party page-view counts, no cookie and no IP kept (src/analytics/). */
  usageStats: boolean;
  /** Masters, encodings, previews and covers (src/media/). */
  media: MediaSettings;
  labels: LabelSettings;
}

export interface LabelSettings {
  /** OWN_LABEL_NAME (default STORE_NAME): the label of releases that name none. */
  ownLabelName: string;
  /** VAT_RATE in basis points (2000 = 20%): prices are VAT-inclusive at this rate. */
  vatBasisPoints: number;
  /** VAT_NUMBER: shown on receipts and order pages; null when not registered. */
  vatNumber: string | null;
  /** STORE_TERRITORY: the ISO country a DDEX deal must include (or be Worldwide) to put a release on sale. */
  territory: string;
  /** DDEX_PRICE_TIERS: a deal's price tier (ERN 4.3 PriceInformation/PriceCode) without a retail price -> release price in pence. */
  priceTiers: Map<string, number>;
}

export interface MediaSettings {
  /** MEDIA_STORAGE=local: the folder MEDIA_DIR; s3: S3-compatible object storage (S3_*). */
  storage: { kind: 'local'; dir: string } | ({ kind: 's3' } & S3Settings);
  /** MEDIA_DIR, whichever storage is in use (`npx store media migrate` copies between the two). */
  dir: string;
  /** The bucket S3_* name, whichever storage is in use; null when they are not all set. */
  s3: S3Settings | null;
  /** PUBLIC_MEDIA_URL: a CDN or public bucket URL that covers and previews are served from (key appended). */
  publicMediaUrl: string | null;
  /** DOWNLOAD_FORMATS: what a lossless master is sold as, in the order shown. */
  downloadFormats: DownloadFormatId[];
  ffmpegPath: string;
}

export interface S3Settings {
  /** Empty: AWS itself. */
  endpoint: string | undefined;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (endpoint/bucket/key): what MinIO, Ceph and most self-hosted stores need. */
  forcePathStyle: boolean;
}

/** Formats a lossless master can be delivered in (src/media/formats.ts describes each). */
export const DOWNLOAD_FORMAT_IDS = ['mp3-320', 'mp3-v0', 'flac', 'aac-256'] as const;
export type DownloadFormatId = (typeof DOWNLOAD_FORMAT_IDS)[number];

function parseDownloadFormats(value: string, problems: string[]): DownloadFormatId[] {
  const names = [
    ...new Set(
      value
        .split(',')
        .map((f) => f.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
  const unknown = names.filter((n) => !(DOWNLOAD_FORMAT_IDS as readonly string[]).includes(n));
  if (unknown.length) problems.push(`DOWNLOAD_FORMATS: unknown ${unknown.join(', ')} (choose from ${DOWNLOAD_FORMAT_IDS.join(', ')})`);
  if (names.length === 0) problems.push('DOWNLOAD_FORMATS: name at least one format');
  return names as DownloadFormatId[];
}

export interface PrivacySettings {
  /** The legal entity behind the store (COMPANY_NAME; null when unset, outside production only: the policy then names the store alone). */
  companyName: string | null;
  /** INFO_OFFICER_NAME; null when unset (outside production only): the policy then says "our information officer". */
  infoOfficerName: string | null;
  /** INFO_OFFICER_EMAIL, else CONTACT_EMAIL. */
  infoOfficerEmail: string;
  /** Where the data is hosted, as the policy says it: "on servers in the United Kingdom". */
  dataHosting: string;
}

export interface AffiliateSettings {
  cookieDays: number;
  /** Which referrer an order is credited to when a visitor followed two affiliates' links. */
  attribution: 'first' | 'last';
  /** implied: the cookie is set on landing; required: only once the visitor accepted cookies (a `consent=yes` cookie). */
  consent: 'implied' | 'required';
  /** Days a commission stays pending (refundable) before it is approved for payout. */
  holdDays: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function parseDatabaseUrl(url: string | undefined, dataDir: string): DatabaseTarget {
  if (!url) return { kind: 'sqlite', file: path.join(dataDir, 'store.sqlite') };
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) {
    return { kind: 'mysql', url: url.replace(/^mariadb:/, 'mysql:') };
  }
  return { kind: 'sqlite', file: url.replace(/^(sqlite|file):(\/\/)?/, '') };
}

function parseTrustProxy(value: string): boolean | number | string {
  if (value === 'true') return true;
  if (value === 'false' || value === '') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

/** Reads the environment once, at start-up, and names every bad or missing variable together. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const paypalVariables = {
    PAYPAL_CLIENT_ID: e.PAYPAL_CLIENT_ID,
    PAYPAL_CLIENT_SECRET: e.PAYPAL_CLIENT_SECRET,
    PAYPAL_WEBHOOK_ID: e.PAYPAL_WEBHOOK_ID,
  };
  const paypalMissing = Object.entries(paypalVariables)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (paypalMissing.length > 0 && paypalMissing.length < 3) {
    paypalMissing.forEach((name) => problems.push(`${name}: required when the other PayPal settings are given`));
  }
  const payforitVariables = {
    PAYFORIT_API_BASE: e.PAYFORIT_API_BASE,
    PAYFORIT_MERCHANT_ID: e.PAYFORIT_MERCHANT_ID,
    PAYFORIT_SECRET: e.PAYFORIT_SECRET,
  };
  const payforitMissing = Object.entries(payforitVariables)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (payforitMissing.length > 0 && payforitMissing.length < 3) {
    payforitMissing.forEach((name) => problems.push(`${name}: required when the other PAYFORIT settings are given`));
  }
  const twilioVariables = { TWILIO_ACCOUNT_SID: e.TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN: e.TWILIO_AUTH_TOKEN, SMS_FROM: e.SMS_FROM };
  const twilioMissing = Object.entries(twilioVariables)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (twilioMissing.length > 0 && twilioMissing.length < 3) {
    twilioMissing.forEach((name) => problems.push(`${name}: required when the other Twilio settings are given`));
  }
  if (e.SMTP_URL && !e.MAIL_FROM) problems.push('MAIL_FROM: required with SMTP_URL (the address messages come from)');
  if (e.NODE_ENV === 'production') {
    if (!e.SMTP_URL) problems.push('SMTP_URL: required in production (without it email goes to a local folder)');
    if (twilioMissing.length === 3)
      problems.push('TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, SMS_FROM: required in production (the SMS stand-in is for testing)');
  }
  if (e.NODE_ENV === 'production') {
    if (!e.DATABASE_URL) problems.push('DATABASE_URL: required in production (the SQLite default is for trying the store out)');
    if (!e.SESSION_SECRET) problems.push('SESSION_SECRET: required in production (at least 32 random characters)');
    if (!e.PUBLIC_URL) problems.push('PUBLIC_URL: required in production (payment providers send shoppers back to it)');
    if (paypalMissing.length === 3)
      problems.push(
        'PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET, PAYPAL_WEBHOOK_ID: required in production (the PayPal stand-in is for testing)',
      );
    if (payforitMissing.length === 3)
      problems.push(
        'PAYFORIT_API_BASE, PAYFORIT_MERCHANT_ID, PAYFORIT_SECRET: required in production (the mobile-billing stand-in is for testing)',
      );
    // The privacy policy names who runs the store and who answers for its data: never a placeholder.
    if (!e.COMPANY_NAME) problems.push('COMPANY_NAME: required in production (the privacy policy says who runs the store)');
    if (!e.INFO_OFFICER_NAME) problems.push('INFO_OFFICER_NAME: required in production (the privacy policy names the information officer)');
    if (e.CONTACT_EMAIL === EXAMPLE_CONTACT_EMAIL && !e.INFO_OFFICER_EMAIL)
      problems.push(
        `CONTACT_EMAIL or INFO_OFFICER_EMAIL: required in production (the privacy policy's address; ${EXAMPLE_CONTACT_EMAIL} is a placeholder)`,
      );
  }
  const downloadFormats = parseDownloadFormats(e.DOWNLOAD_FORMATS, problems);
  if (e.MEDIA_STORAGE === 's3') {
    for (const name of ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const)
      if (!e[name]) problems.push(`${name}: required with MEDIA_STORAGE=s3`);
  }
  if (problems.length) throw new ConfigError(problems);
  const mediaDir = e.MEDIA_DIR ?? path.join(e.DATA_DIR, 'media');
  const s3 =
    e.S3_BUCKET && e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
      ? {
          endpoint: e.S3_ENDPOINT,
          bucket: e.S3_BUCKET,
          region: e.S3_REGION,
          accessKeyId: e.S3_ACCESS_KEY_ID,
          secretAccessKey: e.S3_SECRET_ACCESS_KEY,
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
        }
      : null;
  const paypal =
    e.PAYPAL_CLIENT_ID && e.PAYPAL_CLIENT_SECRET && e.PAYPAL_WEBHOOK_ID
      ? {
          apiBase: (
            e.PAYPAL_API_BASE ?? (e.NODE_ENV === 'production' ? 'https://api-m.paypal.com' : 'https://api-m.sandbox.paypal.com')
          ).replace(/\/$/, ''),
          clientId: e.PAYPAL_CLIENT_ID,
          clientSecret: e.PAYPAL_CLIENT_SECRET,
          webhookId: e.PAYPAL_WEBHOOK_ID,
        }
      : null;
  const payforit =
    e.PAYFORIT_API_BASE && e.PAYFORIT_MERCHANT_ID && e.PAYFORIT_SECRET
      ? {
          apiBase: e.PAYFORIT_API_BASE.replace(/\/+$/, ''),
          merchantId: e.PAYFORIT_MERCHANT_ID,
          secret: e.PAYFORIT_SECRET,
          maxPence: e.PAYFORIT_MAX_PENCE,
        }
      : null;

  const twilio =
    e.TWILIO_ACCOUNT_SID && e.TWILIO_AUTH_TOKEN && e.SMS_FROM
      ? {
          apiBase: e.TWILIO_API_BASE.replace(/\/+$/, ''),
          accountSid: e.TWILIO_ACCOUNT_SID,
          authToken: e.TWILIO_AUTH_TOKEN,
          from: e.SMS_FROM,
        }
      : null;

  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''),
    storeName: e.STORE_NAME,
    dataDir: e.DATA_DIR,
    mediaDir: e.MEDIA_DIR ?? path.join(e.DATA_DIR, 'media'),
    database: parseDatabaseUrl(e.DATABASE_URL, e.DATA_DIR),
    sessionSecret: e.SESSION_SECRET ?? INSECURE_DEV_SECRET,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    demoCatalogue: e.DEMO_CATALOGUE,
    prices: { trackPence: e.TRACK_PRICE_PENCE, releasePence: e.RELEASE_PRICE_PENCE },
    catalogueCacheSeconds: e.CATALOGUE_CACHE_SECONDS,
    logLevel: e.LOG_LEVEL,
    contactEmail: e.CONTACT_EMAIL,
    privacy: {
      companyName: e.COMPANY_NAME ?? null,
      infoOfficerName: e.INFO_OFFICER_NAME ?? null,
      infoOfficerEmail: e.INFO_OFFICER_EMAIL ?? e.CONTACT_EMAIL,
      dataHosting: e.DATA_HOSTING,
    },
    gaMeasurementId: e.GA_MEASUREMENT_ID ?? null,
    contactLimitPerClient: e.CONTACT_LIMIT_PER_CLIENT,
    pendingOrderMinutes: e.ORDER_PENDING_MINUTES,
    paidSessionDownloadHours: e.PAID_SESSION_DOWNLOAD_HOURS,
    signInLimitPerClient: e.SIGN_IN_LIMIT_PER_CLIENT,
    paypalTimeoutMs: e.PAYPAL_TIMEOUT_MS,
    paypal,
    payforitMaxPence: e.PAYFORIT_MAX_PENCE,
    payforit,
    mail: { smtpUrl: e.SMTP_URL ?? null, from: e.MAIL_FROM ?? DEFAULT_MAIL_FROM, folder: path.join(e.DATA_DIR, 'mail') },
    twilio,
    outboxPollMs: e.OUTBOX_POLL_MS,
    affiliates: {
      cookieDays: e.AFFILIATE_COOKIE_DAYS,
      attribution: e.AFFILIATE_ATTRIBUTION,
      consent: e.AFFILIATE_COOKIE_CONSENT,
      holdDays: e.AFFILIATE_HOLD_DAYS,
    },
    backupKeep: e.BACKUP_KEEP,
    usageStats: e.USAGE_STATS,
    media: {
      storage: e.MEDIA_STORAGE === 's3' ? { kind: 's3', ...s3! } : { kind: 'local', dir: mediaDir },
      dir: mediaDir,
      s3,
      publicMediaUrl: e.PUBLIC_MEDIA_URL?.replace(/\/+$/, '') ?? null,
      downloadFormats,
      ffmpegPath: e.FFMPEG_PATH,
    },
    labels: {
      ownLabelName: e.OWN_LABEL_NAME ?? e.STORE_NAME,
      vatBasisPoints: Math.round(Number(e.VAT_RATE) * 100),
      vatNumber: e.VAT_NUMBER ?? null,
      territory: e.STORE_TERRITORY,
      priceTiers: new Map(
        e.DDEX_PRICE_TIERS.split(',')
          .map((pair) => pair.split('=') as [string, string])
          .map(([tier, pence]) => [tier.trim().toLowerCase(), Number(pence)]),
      ),
    },
  };
}

/** The company and VAT number receipts name (COMPANY_NAME or STORE_NAME; VAT_NUMBER). */
export function sellerOf(config: Config): { companyName: string; vatNumber: string | null } {
  return { companyName: config.privacy.companyName ?? config.storeName, vatNumber: config.labels.vatNumber };
}

/** Reads `.env` into the environment when there is one; variables already set win. */
export function loadDotEnv(file = '.env'): void {
  if (fs.existsSync(file)) process.loadEnvFile(file);
}
