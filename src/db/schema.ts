import type { ColumnType, Generated } from 'kysely';

/**
 * Table types. Times are UTC strings 'YYYY-MM-DD HH:MM:SS' in both dialects (mysql2 runs with
 * dateStrings), booleans are 0/1 integers, money is whole pence.
 */
export interface ArtistTable {
  id: Generated<number>;
  name: string;
  slug: string;
  created_at: string;
}

export interface GenreTable {
  id: Generated<number>;
  name: string;
  slug: string;
}

export type ReleaseKind = 'album' | 'ep' | 'single';

export interface ReleaseTable {
  id: Generated<number>;
  artist_id: number;
  genre_id: number | null;
  /** Normalised album artist + album: how the importer groups files into one release. */
  import_key: string;
  title: string;
  slug: string;
  kind: ReleaseKind;
  release_date: string | null;
  price_pence: number | null;
  cover_file: string | null;
  hidden: Generated<number>;
  /** How much of release_date is known (migration 021): 'day', 'month' or 'year'. */
  release_date_precision: Generated<DatePrecision>;
  created_at: string;
  updated_at: string;
  /** migrations/040_labels.ts: the label, identifiers and the deal's sale window (UTC dates). */
  label_id: number | null;
  icpn: string | null;
  catalogue_number: string | null;
  p_line: string | null;
  c_line: string | null;
  parental_warning: string | null;
  on_sale_from: string | null;
  on_sale_until: string | null;
}

export type DatePrecision = 'day' | 'month' | 'year';

export interface TrackTable {
  id: Generated<number>;
  release_id: number;
  artist_id: number;
  disc_number: number;
  track_number: number;
  title: string;
  duration_ms: number;
  bitrate_kbps: number;
  price_pence: number | null;
  /** Paths relative to the media folder; never served statically. */
  media_file: string;
  preview_file: string;
  file_bytes: number;
  /** SHA-256 of the audio frames only, so a retagged file is recognised as the same track. */
  audio_sha256: string;
  /** SHA-256 of the tag data we imported, so an unchanged file is skipped. */
  tags_sha256: string;
  created_at: string;
  updated_at: string;
  /** What media_file holds: an MP3 (sold as it is) or a lossless master (src/media/formats.ts). */
  master_format: ColumnType<MasterFormat, MasterFormat | undefined, MasterFormat>;
  /** A master's sample rate (Hz), bit depth and channels, as the import read them; null when unknown. */
  sample_rate: number | null;
  bit_depth: number | null;
  channels: number | null;
  isrc: Generated<string | null>;
  /** Set when a later DDEX message no longer lists the track: off the release's page, search and sale; buyers keep it. */
  withdrawn_at: Generated<string | null>;
}

export type SearchKind = 'artist' | 'release' | 'track';

export interface SearchTermTable {
  term: string;
  kind: SearchKind;
  entity_id: number;
}

export interface SessionTable {
  sid: string;
  expires_at: string;
  data: string;
}

/** One limiter's count for one client (src/web/rate-limit-store.ts); the key is a keyed hash, never an address. */
export interface RateLimitTable {
  key_hash: string;
  hits: number;
  reset_at: string;
}

export interface CustomerTable {
  id: Generated<number>;
  email: string | null;
  msisdn: string | null;
  marketing_opt_in: number;
  marketing_choice_at: string | null;
  created_at: string;
  updated_at: string;
  /** The download format the customer last chose on "Your music" (src/media/formats.ts); null: the store's first. */
  download_format: ColumnType<string | null, string | null | undefined, string | null>;
}

export type OrderStatus = 'pending' | 'paid' | 'refunded' | 'failed' | 'cancelled' | 'expired';

export interface OrderTable {
  id: Generated<number>;
  reference: string;
  status: OrderStatus;
  total_pence: number;
  currency: string;
  payment_method: string;
  affiliate_id: number | null;
  customer_id: number | null;
  age_confirmed_at: string;
  marketing_opt_in: number;
  created_at: string;
  expires_at: string;
  paid_at: string | null;
  updated_at: string;
  /** Country of sale, ISO 3166 alpha-2 (PayPal payer's country, or the mobile number's); nothing more of where. */
  country_code: Generated<string | null>;
  /** The VAT rate the VAT-inclusive prices carried, in basis points (2000 = 20%). */
  vat_basis_points: Generated<number>;
  /** The customer signed in when the order was placed (migration 020): who hears of it before payment gives it a customer. */
  placed_by_customer_id: Generated<number | null>;
}

export interface OrderItemTable {
  id: Generated<number>;
  order_id: number;
  release_id: number;
  track_id: number | null;
  title: string;
  price_pence: number;
  /** The release's label when the order was paid (migration 065): statements follow it, not the release's label today. */
  label_id: Generated<number | null>;
}

export interface OrderEventTable {
  id: Generated<number>;
  order_id: number;
  from_status: OrderStatus | null;
  to_status: OrderStatus;
  event: string;
  detail: string | null;
  created_at: string;
}

export type PaymentStatus = 'created' | 'captured' | 'declined' | 'cancelled' | 'failed' | 'mismatch' | 'refunded' | 'pending';

export interface PaymentTable {
  id: Generated<number>;
  order_id: number;
  method: string;
  provider_ref: string;
  capture_ref: string | null;
  status: PaymentStatus;
  amount_pence: number | null;
  currency: string | null;
  created_at: string;
  updated_at: string;
}

export interface ProviderEventTable {
  id: Generated<number>;
  provider: string;
  event_id: string;
  event_type: string;
  received_at: string;
}

export interface EntitlementTable {
  id: Generated<number>;
  customer_id: number;
  order_id: number;
  track_id: number;
  created_at: string;
  revoked_at: string | null;
}

/** Who a one-time sign-in code belongs to (migrations/013_one_code_table.ts). */
export type CodeOwnerKind = 'customer' | 'affiliate' | 'operator';

/** One-time sign-in codes of customers, affiliates and operators alike (src/sign-in-codes/). */
export interface SignInCodeTable {
  id: Generated<number>;
  owner_kind: CodeOwnerKind;
  /** customers.id, affiliates.id or operators.id, as owner_kind says. */
  owner_id: number;
  code_hash: string;
  attempts: number;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

export interface SignInLinkTable {
  id: Generated<number>;
  customer_id: number;
  token_hash: string;
  uses_left: number;
  expires_at: string;
  created_at: string;
}

export interface DownloadTable {
  id: Generated<number>;
  customer_id: number;
  track_id: number | null;
  release_id: number | null;
  created_at: string;
}

export type OutboxChannel = 'email' | 'sms';
/** transactional: caused by the customer's own action; service: an operator's notice; marketing: only with consent. */
export type OutboxKind = 'transactional' | 'service' | 'marketing';
export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed';

/** One message to send (migrations/005_outbox.ts, src/notifications/). */
export interface OutboxTable {
  id: Generated<number>;
  channel: OutboxChannel;
  recipient: string;
  kind: OutboxKind;
  subject: string | null;
  body_text: string;
  body_html: string | null;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: string;
  claimed_by: string | null;
  claimed_until: string | null;
  last_error: string | null;
  customer_id: number | null;
  order_id: number | null;
  created_at: string;
  sent_at: string | null;
  updated_at: string;
  /** Extra email headers as a JSON object (List-Unsubscribe on marketing); null: none. */
  headers: string | null;
  /** When the holding worker handed the row to the provider (migration 017); null: not in this attempt. */
  handed_at: string | null;
  /** The sign-in code or link token in the text, only while the message waits (migrations/014_outbox_secrets.ts). */
  secret: string | null;
}

/** One operator's service notice (src/privacy/notices.ts): who, why, which orders' customers. */
export interface ServiceNoticeTable {
  id: Generated<number>;
  sent_by: string;
  reason: string;
  orders_from: string;
  orders_to: string;
  subject: string;
  body_text: string;
  recipients: number;
  created_at: string;
}

/** The operator's one-row-per-order view (migrations/003_orders.ts). */
export interface OrderOverviewView {
  reference: string;
  status: OrderStatus;
  created_at: string;
  paid_at: string | null;
  total_pence: number;
  currency: string;
  payment_method: string;
  contact: string | null;
  affiliate_id: number | null;
  item_count: number;
  item_titles: string | null;
}

/** Affiliates and their figures (migrations/007_affiliates.ts, src/affiliates/). The number is the id. */
export interface AffiliateTable {
  id: Generated<number>;
  name: string;
  email: string;
  /** Percentage commissions, in basis points (2000 = 20%); null for a flat commission. */
  rate_basis_points: number | null;
  flat_pence: number | null;
  active: number;
  created_at: string;
  updated_at: string;
}

export interface AffiliateVisitTable {
  id: Generated<number>;
  affiliate_id: number;
  /** 'YYYY-MM-DD', UTC. */
  day: string;
  path: string;
  visits: number;
}

export type CommissionStatus = 'pending' | 'approved' | 'paid' | 'rejected';

export interface AffiliateCommissionTable {
  id: Generated<number>;
  affiliate_id: number;
  order_id: number;
  order_total_pence: number;
  amount_pence: number;
  status: CommissionStatus;
  /** Why a commission was rejected: 'refunded' or 'self-referral'. */
  reason: string | null;
  payout_id: number | null;
  created_at: string;
  approved_at: string | null;
  paid_at: string | null;
  rejected_at: string | null;
  updated_at: string;
}

export interface AffiliatePayoutTable {
  id: Generated<number>;
  affiliate_id: number;
  amount_pence: number;
  commission_count: number;
  created_at: string;
}

/** Operators of the admin area (migrations/010_admin.ts, src/admin/access/): not customers. */
export interface OperatorTable {
  id: Generated<number>;
  email: string;
  password_hash: string;
  failed_attempts: number;
  locked_until: string | null;
  active: number;
  last_sign_in_at: string | null;
  created_at: string;
  updated_at: string;
}

/** Every change an operator makes in the admin area: who, what, when (src/admin/audit.ts). */
export interface AdminAuditTable {
  id: Generated<number>;
  operator_id: number | null;
  action: string;
  target: string | null;
  detail: string | null;
  created_at: string;
}

/** Paid orders per UTC day and payment method (migrations/010_admin.ts). */
export interface DailySalesView {
  day: string;
  payment_method: string;
  orders_paid: number;
  revenue_pence: number;
  items: number;
  orders_refunded: number;
  refunded_pence: number;
  referred_orders: number;
}

/** Usage statistics (migrations/009_analytics.ts, src/analytics/): counts per UTC day, nothing per visitor. */
export interface PageViewTable {
  /** 'YYYY-MM-DD', UTC. */
  day: string;
  path: string;
  views: number;
}

export interface PageReferrerTable {
  day: string;
  /** The referring site's host name only: no path, no query. */
  domain: string;
  views: number;
}

export interface DailyVisitorTable {
  day: string;
  /** Estimated unique visitors: each process's count, summed (see src/analytics/visitors.ts). */
  visitors: number;
}

export type MasterFormat = 'mp3' | 'flac' | 'wav';
export type EncodingStatus = 'pending' | 'working' | 'ready' | 'failed';

/**
 * The encoding queue and cache index (src/media/encodings.ts): one row per track and format. A
 * row is worked under a lease like the outbox's; output_key is content-addressed by everything
 * that went into the file, so a retag or a new cover makes a new key and a new encoding.
 */
/** The columns both media queues share: a job worked under a lease (src/media/encodings.ts claimJobs). */
interface MediaJobColumns {
  id: Generated<number>;
  format: string;
  output_key: string;
  status: EncodingStatus;
  attempts: number;
  /** When a 'working' row's lease runs out (any worker may then take it again). */
  lease_until: string | null;
  claimed_by: string | null;
  last_error: string | null;
  output_bytes: number | null;
  created_at: string;
  updated_at: string;
}

export interface MediaEncodingTable extends MediaJobColumns {
  track_id: number;
}

/** Release ZIPs made by the media queue for object storage (migrations/050_media_zips.ts, src/media/zips.ts). */
export interface MediaZipTable extends MediaJobColumns {
  release_id: number;
  /** JSON: [{ key, name }], the stored objects packed and the names they get in the ZIP. */
  entries: string;
}

/** Record labels (migrations/040_labels.ts, src/labels/). */
export interface LabelTable {
  id: Generated<number>;
  name: string;
  contact_email: string | null;
  ddex_party_id: string | null;
  /** Share of net receipts owed to the label, in basis points (7000 = 70%). */
  royalty_basis_points: Generated<number>;
  own_label: Generated<number>;
  created_at: string;
  updated_at: string;
}

/** Every royalty rate a label has had, from when (src/labels/statements/): a sale is paid at the rate in force when it was paid. */
export interface LabelRoyaltyRateTable {
  id: Generated<number>;
  label_id: number;
  royalty_basis_points: number;
  effective_from: string;
}

/** One DDEX message read by `npx store ingest` and what became of it (src/labels/ddex/). */
export interface DdexIngestionTable {
  id: Generated<number>;
  batch: string;
  message_file: string;
  message_id: string | null;
  message_sha256: string;
  kind: string | null;
  /** accepted, refused, or unchanged (the same message delivered again). */
  status: string;
  /** JSON: each release's status, or the refusal's reason. */
  summary: string | null;
  created_at: string;
}

export interface Database {
  labels: LabelTable;
  label_royalty_rates: LabelRoyaltyRateTable;
  ddex_ingestions: DdexIngestionTable;
  page_views: PageViewTable;
  page_referrers: PageReferrerTable;
  daily_visitors: DailyVisitorTable;
  affiliates: AffiliateTable;
  affiliate_visits: AffiliateVisitTable;
  affiliate_commissions: AffiliateCommissionTable;
  affiliate_payouts: AffiliatePayoutTable;
  order_overview: OrderOverviewView;
  operators: OperatorTable;
  admin_audit: AdminAuditTable;
  daily_sales: DailySalesView;
  entitlements: EntitlementTable;
  sign_in_codes: SignInCodeTable;
  sign_in_links: SignInLinkTable;
  downloads: DownloadTable;
  artists: ArtistTable;
  genres: GenreTable;
  releases: ReleaseTable;
  tracks: TrackTable;
  search_terms: SearchTermTable;
  sessions: SessionTable;
  rate_limits: RateLimitTable;
  customers: CustomerTable;
  orders: OrderTable;
  order_items: OrderItemTable;
  order_events: OrderEventTable;
  payments: PaymentTable;
  provider_events: ProviderEventTable;
  outbox: OutboxTable;
  service_notices: ServiceNoticeTable;
  media_encodings: MediaEncodingTable;
  media_zips: MediaZipTable;
}
