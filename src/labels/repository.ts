/** SQL for labels (migrations/040_labels.ts). The admin pages, the importer and DDEX ingest all write through here. */
import type { Transaction } from 'kysely';
import type { Db } from '../db/database.js';
import { insertedId, toDbTime } from '../db/dialect.js';
import type { Database } from '../db/schema.js';

type Tx = Transaction<Database> | Db;

export const DEFAULT_ROYALTY_BASIS_POINTS = 7000;

export interface LabelFields {
  name: string;
  contactEmail: string | null;
  ddexPartyId: string | null;
  royaltyBasisPoints: number;
}

export async function listLabels(db: Tx) {
  return db
    .selectFrom('labels')
    .selectAll()
    .select((eb) =>
      eb
        .selectFrom('releases')
        .whereRef('releases.label_id', '=', 'labels.id')
        .select((e) => e.fn.countAll<number>().as('n'))
        .as('release_count'),
    )
    .orderBy('own_label', 'desc')
    .orderBy('name')
    .orderBy('id')
    .execute();
}

export async function findLabel(db: Tx, id: number) {
  return db.selectFrom('labels').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findLabelByName(db: Tx, name: string) {
  return db.selectFrom('labels').selectAll().where('name', '=', name).orderBy('id').executeTakeFirst();
}

export async function findLabelByPartyId(db: Tx, partyId: string) {
  return db.selectFrom('labels').selectAll().where('ddex_party_id', '=', partyId).executeTakeFirst();
}

/** A label's first rate counts from the beginning: a sale of its releases from before it existed is paid at it. */
const FIRST_RATE_FROM = '1970-01-01 00:00:00';

/** Records a royalty rate in the label's dated history (label_royalty_rates), which statements pay each sale from. */
async function recordRate(tx: Tx, labelId: number, basisPoints: number, from: string): Promise<void> {
  await tx
    .insertInto('label_royalty_rates')
    .values({ label_id: labelId, royalty_basis_points: basisPoints, effective_from: from })
    .execute();
}

export async function addLabel(tx: Tx, fields: LabelFields, now: Date): Promise<number> {
  const at = toDbTime(now);
  const id = insertedId(
    await tx
      .insertInto('labels')
      .values({
        name: fields.name,
        contact_email: fields.contactEmail,
        ddex_party_id: fields.ddexPartyId,
        royalty_basis_points: fields.royaltyBasisPoints,
        created_at: at,
        updated_at: at,
      })
      .executeTakeFirstOrThrow(),
  );
  await recordRate(tx, id, fields.royaltyBasisPoints, FIRST_RATE_FROM);
  return id;
}

/**
 * Saves a label. A new royalty rate applies from now on: the old one stays in the history for
 * the sales made under it (a label with no history yet had its old rate from the beginning).
 */
export async function updateLabel(tx: Tx, id: number, fields: LabelFields, now: Date): Promise<boolean> {
  const before = await tx.selectFrom('labels').select('royalty_basis_points').where('id', '=', id).executeTakeFirst();
  if (before && before.royalty_basis_points !== fields.royaltyBasisPoints) {
    const history = await tx.selectFrom('label_royalty_rates').select('id').where('label_id', '=', id).limit(1).executeTakeFirst();
    if (!history) await recordRate(tx, id, before.royalty_basis_points, FIRST_RATE_FROM);
    await recordRate(tx, id, fields.royaltyBasisPoints, toDbTime(now));
  }
  const result = await tx
    .updateTable('labels')
    .set({
      name: fields.name,
      contact_email: fields.contactEmail,
      ddex_party_id: fields.ddexPartyId,
      royalty_basis_points: fields.royaltyBasisPoints,
      updated_at: toDbTime(now),
    })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * The store's own label (one row, own_label = 1), created on first use and named as configured.
 * Migration 040 made it nameless ("Own label") for releases that predate labels.
 */
export async function ownLabelId(tx: Tx, name: string, now: Date): Promise<number> {
  const own = await tx.selectFrom('labels').select(['id', 'name']).where('own_label', '=', 1).executeTakeFirst();
  if (own) {
    if (own.name === 'Own label' && name !== own.name)
      await tx
        .updateTable('labels')
        .set({ name, updated_at: toDbTime(now) })
        .where('id', '=', own.id)
        .execute();
    return own.id;
  }
  const at = toDbTime(now);
  return insertedId(await tx.insertInto('labels').values({ name, own_label: 1, created_at: at, updated_at: at }).executeTakeFirstOrThrow());
}

/** A label named in a file's tags or on the command line: found by name, else created at the default rate. */
export async function labelIdByName(tx: Tx, name: string, now: Date): Promise<number> {
  const found = await findLabelByName(tx, name);
  if (found) return found.id;
  return addLabel(tx, { name, contactEmail: null, ddexPartyId: null, royaltyBasisPoints: DEFAULT_ROYALTY_BASIS_POINTS }, now);
}
