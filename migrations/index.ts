import type { Migration } from 'kysely';
import * as catalogue from './001_catalogue.js';
import * as sessions from './002_sessions.js';
import * as orders from './003_orders.js';
import * as outbox from './005_outbox.js';
import * as accounts from './006_accounts.js';
import * as affiliates from './007_affiliates.js';
import * as privacy from './008_privacy.js';
import * as analytics from './009_analytics.js';
import * as admin from './010_admin.js';
import * as rateLimits from './012_rate_limits.js';
import * as oneCodeTable from './013_one_code_table.js';
import * as outboxSecrets from './014_outbox_secrets.js';
import * as outboxHandedAt from './017_outbox_handed_at.js';
import * as orderPlacedBy from './020_order_placed_by.js';
import * as releaseDatePrecision from './021_release_date_precision.js';
import * as media from './030_media.js';
import * as labels from './040_labels.js';
import * as mediaZips from './050_media_zips.js';
import * as labelRatesWithdrawnTracks from './060_label_rates_withdrawn_tracks.js';
import * as orderItemLabels from './065_order_item_labels.js';
import * as sessionIdentityMark from './075_session_identity_mark.js';

/** Every migration, in order. Listed explicitly so the set is the same under tsx, vitest and a bundler. */
export const migrations: Record<string, Migration> = {
  '001_catalogue': catalogue,
  '002_sessions': sessions,
  '003_orders': orders,
  '005_outbox': outbox,
  '006_accounts': accounts,
  '007_affiliates': affiliates,
  '008_privacy': privacy,
  '009_analytics': analytics,
  '010_admin': admin,
  '012_rate_limits': rateLimits,
  '013_one_code_table': oneCodeTable,
  '014_outbox_secrets': outboxSecrets,
  '017_outbox_handed_at': outboxHandedAt,
  '020_order_placed_by': orderPlacedBy,
  '021_release_date_precision': releaseDatePrecision,
  '030_media': media,
  '040_labels': labels,
  '050_media_zips': mediaZips,
  '060_label_rates_withdrawn_tracks': labelRatesWithdrawnTracks,
  '065_order_item_labels': orderItemLabels,
  '075_session_identity_mark': sessionIdentityMark,
};
