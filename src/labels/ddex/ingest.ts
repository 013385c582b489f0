/**
 * Applies DDEX ERN deliveries (docs/labels.md). A delivery folder holds batch folders; a batch is
 * complete once its BatchComplete_*.xml marker is there (until then it is left for later). Each
 * message (any other .xml in the batch, at any depth, beside its resources/) is read, checked
 * whole (files present, hashes matching, label and tracks named) and then applied in one
 * transaction, or refused with nothing changed. An acknowledgement ACK_<message>.xml is written
 * beside every message; a message already acknowledged is not read again, and the same message
 * delivered again in another batch changes nothing.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Transaction } from 'kysely';
import type { LabelSettings } from '../../config.js';
import type { Db } from '../../db/database.js';
import { toDbTime } from '../../db/dialect.js';
import type { Database } from '../../db/schema.js';
import * as catalogueSql from '../../catalogue/importer/repository.js';
import { checkLength, readMp3, UnusableFileError, type ImportedFile } from '../../catalogue/importer/read-file.js';
import { BadMasterError, readLossless, sniff } from '../../catalogue/importer/read-lossless.js';
import type { MediaFiles } from '../../media/media-files.js';
import { NotMp3Error } from '../../catalogue/mp3/frames.js';
import { addLabel, DEFAULT_ROYALTY_BASIS_POINTS, findLabelByPartyId, findLabelByName } from '../repository.js';
import { acknowledgementXml, type ReleaseOutcome } from './ack.js';
import { parseErn, RefusedMessage, type ErnDeal, type ErnFile, type ErnMessage, type ErnRelease, type FileStatus } from './ern.js';

const MAX_RESOURCE_BYTES = 500 * 1024 * 1024;
const MAX_BATCH_DEPTH = 3;

export interface IngestDeps {
  db: Db;
  media: MediaFiles;
  settings: LabelSettings;
  /** ffmpeg checks FLAC and WAV resources completely and makes their previews (as the folder import does). */
  ffmpegPath?: string;
  clock?: () => Date;
  /** Called after a change to the catalogue (page caches). */
  onChange?: () => void;
}

export interface MessageOutcome {
  batch: string;
  file: string;
  messageId: string | null;
  status: 'accepted' | 'refused' | 'unchanged';
  reason: string | null;
  releases: ReleaseOutcome[];
}

type Tx = Transaction<Database>;

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** What a deal list means for the store: the sale window and price, or why it is not on sale here. */
export interface SaleTerms {
  onSale: boolean;
  from: string | null;
  until: string | null;
  pricePence: number | null;
}

/**
 * Only PermanentDownload (pay-as-you-go) deals in the store's territory (or Worldwide) count; the
 * retail price in GBP (VAT-inclusive) sets the price, else a price tier through DDEX_PRICE_TIERS.
 * Deals for streaming, other territories or other currencies are ignored.
 */
export function saleTerms(deals: ErnDeal[], settings: LabelSettings): SaleTerms {
  const ours = deals.filter(
    (d) =>
      d.useTypes.some((u) => u === 'PermanentDownload') &&
      (d.commercialModels.length === 0 || d.commercialModels.includes('PayAsYouGoModel')) &&
      (d.territories.includes(settings.territory) ||
        (d.territories.includes('Worldwide') && !d.excludedTerritories.includes(settings.territory))),
  );
  // ERN 4 has no TakeDown flag: a takedown is an update whose deal has ended (EndDate), or no deal at all.
  const deal = ours[0];
  if (!deal) return { onSale: false, from: null, until: null, pricePence: null };
  return { onSale: true, from: deal.startDate, until: deal.endDate, pricePence: priceOf(deal, settings) };
}

function priceOf(deal: ErnDeal, settings: LabelSettings): number | null {
  if (deal.retailPrice?.currency === 'GBP' && /^\d{1,6}(\.\d{1,2})?$/.test(deal.retailPrice.amount))
    return Math.round(Number(deal.retailPrice.amount) * 100);
  if (deal.priceTier) return settings.priceTiers.get(deal.priceTier.toLowerCase()) ?? null;
  return null;
}

interface CheckedTrack {
  number: number;
  isrc: string | null;
  title: string;
  artistName: string;
  pricePence: number | null;
  audio: ImportedFile;
}

interface CheckedRelease {
  release: ErnRelease;
  label: { name: string; partyId: string | null };
  tracks: CheckedTrack[];
  cover: { data: Buffer; extension: string } | null;
  terms: SaleTerms;
}

/** Node's names for the HashSum algorithms of ERN 4.3 (MD5, SHA1, SHA-224 ... SHA-512), written with or without the dash. */
const HASHES: Record<string, string> = { MD5: 'md5', SHA1: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };

/** Resolves a resource's file beside the message, refusing paths that leave the message's folder. */
async function readResource(messageDir: string, file: ErnFile | null, what: string): Promise<{ data: Buffer; path: string }> {
  if (!file) throw new RefusedMessage(`${what} names no file`, 'MetadataMissing');
  const target = path.resolve(messageDir, file.uri.replace(/^file:\/\//, ''));
  if (!target.startsWith(path.resolve(messageDir) + path.sep))
    throw new RefusedMessage(`${what}: the file ${file.uri} is outside the delivery`, 'ResourceMissing');
  const stat = await fs.stat(target).catch(() => null);
  if (!stat?.isFile()) throw new RefusedMessage(`${what}: the file ${file.uri} is missing`, 'ResourceMissing');
  if (stat.size > MAX_RESOURCE_BYTES)
    throw new RefusedMessage(`${what}: the file ${file.uri} is larger than 500 MB`, 'ResourceNotMeetingSpecifications');
  const data = await fs.readFile(target);
  if (file.hashValue) {
    const algorithm = (file.hashAlgorithm ?? 'MD5').toUpperCase().replace(/[^A-Z0-9]/g, '');
    const node = HASHES[algorithm];
    if (!node)
      throw new RefusedMessage(`${what}: the hash algorithm ${file.hashAlgorithm} is not supported`, 'SignatureOrHashSumWrongOrMissing');
    if (createHash(node).update(data).digest('hex').toLowerCase() !== file.hashValue.toLowerCase())
      throw new RefusedMessage(
        `${what}: the file ${file.uri} does not match its ${file.hashAlgorithm} hash`,
        'SignatureOrHashSumWrongOrMissing',
      );
  }
  return { data, path: target };
}

/** What AudioCodecType says the file is, where it names a format the store takes. */
const DECLARED: Record<string, 'mp3' | 'flac' | 'wav'> = { MP3: 'mp3', FLAC: 'flac', PCM: 'wav' };

/**
 * A sound recording's audio, read the way the folder import reads it: an MP3 sold as it is, or a
 * FLAC/WAV master decoded completely by ffmpeg (then sold in every format on sale).
 */
async function readAudio(
  resource: { data: Buffer; path: string },
  file: ErnFile,
  names: { title: string; artist: string | undefined },
  ffmpegPath: string,
  what: string,
) {
  const kind = sniff(resource.data);
  const declared = file.codec ? DECLARED[file.codec.toUpperCase()] : undefined;
  if (declared && kind !== declared)
    throw new RefusedMessage(
      `${what}: the message says ${file.codec} but the file is ${kind ? kind.toUpperCase() : 'not audio the store knows'}`,
      'ResourceCorrupt',
    );
  try {
    let audio: ImportedFile;
    // The message names title and artist, so a master without tags is fine.
    if (kind === 'flac' || kind === 'wav')
      audio = await readLossless(resource.path, resource.data, kind, names.title, ffmpegPath, names.artist);
    else if (kind === 'mp3') audio = await readMp3(resource.data, names.title, names.artist);
    else throw new RefusedMessage(`${what}: not an MP3, FLAC or WAV file`, 'ResourceNotMeetingSpecifications');
    checkLength(audio.durationMs);
    return audio;
  } catch (error) {
    if (error instanceof NotMp3Error) throw new RefusedMessage(`${what}: not a readable MP3`, 'ResourceCorrupt');
    if (error instanceof BadMasterError || error instanceof UnusableFileError)
      throw new RefusedMessage(`${what}: ${error.message}`, 'ResourceCorrupt');
    throw error;
  }
}

/** Everything about a NewReleaseMessage that can be checked before the database is touched. */
async function checkNewRelease(
  message: Extract<ErnMessage, { kind: 'NewReleaseMessage' }>,
  messageDir: string,
  settings: LabelSettings,
  ffmpegPath: string,
): Promise<CheckedRelease[]> {
  const main = message.releases.filter((r) => r.isMain);
  if (main.length === 0) throw new RefusedMessage('the message has no Release', 'MetadataMissing');
  const recordings = new Map(message.soundRecordings.map((s) => [s.reference, s]));
  const images = new Map(message.images.map((i) => [i.reference, i]));
  const parties = new Map(message.parties.map((p) => [p.reference, p]));
  const checked: CheckedRelease[] = [];
  for (const release of main) {
    const name = release.icpn ?? release.reference;
    if (!release.icpn) throw new RefusedMessage(`release ${release.reference} has no ICPN (UPC/EAN)`, 'MetadataMissing');
    if (!release.title) throw new RefusedMessage(`release ${name} has no title`, 'MetadataMissing');
    const labelParty = release.labelReference ? parties.get(release.labelReference) : undefined;
    if (!labelParty?.name)
      throw new RefusedMessage(`release ${name} has no label (ReleaseLabelReference naming a Party)`, 'MetadataMissing');
    const trackRefs = release.resourceReferences.filter((ref) => recordings.has(ref));
    if (trackRefs.length === 0) throw new RefusedMessage(`release ${name} has no tracks`, 'MetadataMissing');
    const tracks: CheckedTrack[] = [];
    for (const [i, ref] of trackRefs.entries()) {
      const recording = recordings.get(ref)!;
      const what = `sound recording ${ref}`;
      const names = { title: recording.title || `Track ${i + 1}`, artist: recording.artistName ?? release.artistName ?? undefined };
      const audio = await readResource(messageDir, recording.file, what)
        .then((resource) => readAudio(resource, recording.file!, names, ffmpegPath, what))
        .catch((error: unknown) => {
          if (error instanceof RefusedMessage) error.affectedIsrc = recording.isrc;
          throw error;
        });
      const trackRelease = message.releases.find((r) => !r.isMain && r.resourceReferences.includes(ref));
      const trackTerms = trackRelease ? saleTerms(trackRelease.deals, settings) : null;
      tracks.push({
        number: i + 1,
        isrc: recording.isrc?.replace(/-/g, '').toUpperCase() ?? null,
        title: recording.title || audio.tags.title,
        artistName: recording.artistName ?? release.artistName ?? audio.tags.artist,
        pricePence: trackTerms?.pricePence ?? null,
        audio,
      });
    }
    const imageRef = release.resourceReferences.find((ref) => images.has(ref)) ?? message.images[0]?.reference;
    const image = imageRef ? images.get(imageRef) : undefined;
    let cover: CheckedRelease['cover'] = null;
    if (image) {
      const { data } = await readResource(messageDir, image.file, `image ${image.reference}`);
      const extension = data[0] === 0x89 ? 'png' : data[0] === 0xff ? 'jpg' : null;
      if (!extension) throw new RefusedMessage(`image ${image.reference} is neither JPEG nor PNG`, 'ResourceNotMeetingSpecifications');
      cover = { data, extension };
    }
    checked.push({
      release,
      label: { name: labelParty.name.slice(0, 200), partyId: labelParty.partyId },
      tracks,
      cover,
      terms: saleTerms(release.deals, settings),
    });
  }
  return checked;
}

async function labelFor(tx: Tx, label: CheckedRelease['label'], now: Date): Promise<number> {
  const found =
    (label.partyId ? await findLabelByPartyId(tx, label.partyId) : undefined) ??
    (label.partyId ? undefined : await findLabelByName(tx, label.name));
  if (found) return found.id;
  // Unknown: created from the party for the operator to complete (contact, rate).
  return addLabel(
    tx,
    { name: label.name, contactEmail: null, ddexPartyId: label.partyId, royaltyBasisPoints: DEFAULT_ROYALTY_BASIS_POINTS },
    now,
  );
}

const ddexImportKey = (icpn: string) => `ddex/${icpn}`;

async function applyRelease(
  tx: Tx,
  checked: CheckedRelease,
  stored: { media: string; preview: string }[],
  coverFile: string | null,
  at: Date,
): Promise<ReleaseOutcome> {
  const now = toDbTime(at);
  const { release, terms } = checked;
  const artistName = (release.artistName ?? checked.tracks[0]!.artistName).slice(0, 200);
  const artistId = await catalogueSql.findOrCreateArtist(tx, artistName, now);
  const releaseId = await catalogueSql.upsertRelease(
    tx,
    {
      importKey: ddexImportKey(release.icpn!),
      title: release.title.slice(0, 200),
      artistId,
      artistName,
      genreId: await catalogueSql.findOrCreateGenre(tx, release.genre?.slice(0, 100) ?? undefined),
      releaseDate: release.releaseDate,
      releaseDatePrecision: 'day',
      coverFile,
      labelId: await labelFor(tx, checked.label, at),
      icpn: release.icpn!,
      catalogueNumber: release.catalogueNumber?.slice(0, 50),
      cLine: release.cLine?.slice(0, 255),
      pLine: release.pLine?.slice(0, 255),
    },
    now,
  );
  await tx
    .updateTable('releases')
    .set({
      price_pence: terms.pricePence,
      on_sale_from: terms.from,
      on_sale_until: terms.until,
      parental_warning: release.parentalWarning?.slice(0, 30) ?? null,
      hidden: terms.onSale ? 0 : 1,
    })
    .where('id', '=', releaseId)
    .execute();
  const listed: number[] = [];
  for (const [i, track] of checked.tracks.entries()) {
    const trackArtistId =
      track.artistName === artistName ? artistId : await catalogueSql.findOrCreateArtist(tx, track.artistName.slice(0, 200), now);
    const fields: catalogueSql.TrackFields = {
      releaseId,
      artistId: trackArtistId,
      artistName: track.artistName,
      discNumber: 1,
      trackNumber: track.number,
      title: track.title.slice(0, 200),
      durationMs: track.audio.durationMs,
      master: track.audio.master,
      bitrateKbps: track.audio.bitrateKbps,
      mediaFile: stored[i]!.media,
      previewFile: stored[i]!.preview,
      fileBytes: track.audio.bytes.length,
      audioSha256: track.audio.audioSha256,
      tagsSha256: track.audio.tagsSha256,
      isrc: track.isrc,
    };
    const existing = await catalogueSql.findTrackByAudio(tx, track.audio.audioSha256);
    const trackId = existing
      ? (await catalogueSql.updateTrack(tx, existing.id, fields, now), existing.id)
      : await catalogueSql.insertTrack(tx, fields, now);
    await tx.updateTable('tracks').set({ price_pence: track.pricePence, withdrawn_at: null }).where('id', '=', trackId).execute();
    listed.push(trackId);
  }
  await withdrawUnlisted(tx, releaseId, listed, now);
  await catalogueSql.settleReleaseKind(
    tx,
    releaseId,
    release.releaseType === 'Single'
      ? 'single'
      : release.releaseType === 'EP'
        ? 'ep'
        : release.releaseType === 'Album'
          ? 'album'
          : undefined,
  );
  const today = now.slice(0, 10);
  const status = !terms.onSale
    ? 'not on sale: no PermanentDownload deal for this territory'
    : terms.from && terms.from > today
      ? `available from ${terms.from}`
      : terms.until && terms.until < today
        ? 'no longer on sale'
        : 'on sale';
  return { reference: release.reference, icpn: release.icpn, status };
}

/**
 * The message describes the whole release: a track it no longer lists leaves the release's page,
 * search and new sales (withdrawn_at), while its buyers keep their entitlements and downloads.
 */
async function withdrawUnlisted(tx: Tx, releaseId: number, listed: number[], now: string): Promise<void> {
  const dropped = await tx
    .selectFrom('tracks')
    .select('id')
    .where('release_id', '=', releaseId)
    .where('withdrawn_at', 'is', null)
    .where('id', 'not in', listed)
    .execute();
  if (dropped.length === 0) return;
  const ids = dropped.map((t) => t.id);
  await tx.updateTable('tracks').set({ withdrawn_at: now, updated_at: now }).where('id', 'in', ids).execute();
  await tx.deleteFrom('search_terms').where('kind', '=', 'track').where('entity_id', 'in', ids).execute();
}

async function purgeReleases(tx: Tx, purged: { icpn: string | null; releaseId: string | null }[], now: string): Promise<ReleaseOutcome[]> {
  const outcomes: ReleaseOutcome[] = [];
  for (const p of purged) {
    if (!p.icpn) throw new RefusedMessage('a PurgedRelease has no ICPN', 'MetadataMissing');
    const release = await tx
      .selectFrom('releases')
      .select('id')
      .where((eb) => eb.or([eb('import_key', '=', ddexImportKey(p.icpn!)), eb('icpn', '=', p.icpn!)]))
      .executeTakeFirst();
    if (!release) throw new RefusedMessage(`there is no release with ICPN ${p.icpn} to take down`, 'IdentifierInvalid');
    // Hidden: gone from every catalogue page, search and the sitemap; buyers keep their downloads.
    await tx.updateTable('releases').set({ hidden: 1, updated_at: now }).where('id', '=', release.id).execute();
    outcomes.push({ reference: p.icpn, icpn: p.icpn, status: 'taken down' });
  }
  return outcomes;
}

export function createIngester(deps: IngestDeps) {
  const { db, media, settings, clock = () => new Date(), ffmpegPath = 'ffmpeg' } = deps;

  async function record(outcome: MessageOutcome, sha: string, kind: string | null, at: Date) {
    await db
      .insertInto('ddex_ingestions')
      .values({
        batch: outcome.batch.slice(0, 255),
        message_file: outcome.file.slice(0, 255),
        message_id: outcome.messageId?.slice(0, 100) ?? null,
        message_sha256: sha,
        kind,
        status: outcome.status,
        summary: JSON.stringify({ reason: outcome.reason, releases: outcome.releases }),
        created_at: toDbTime(at),
      })
      .execute();
  }

  /** Reads, checks and applies one message; writes its acknowledgement beside it. */
  async function ingestMessage(batch: string, file: string): Promise<MessageOutcome> {
    const at = clock();
    const bytes = await fs.readFile(file);
    const sha = sha256(bytes);
    const outcome: MessageOutcome = { batch, file: path.basename(file), messageId: null, status: 'refused', reason: null, releases: [] };
    let message: ErnMessage | null = null;
    let fileStatus: FileStatus = 'FileOK';
    let affectedIsrc: string | null = null;
    try {
      message = parseErn(bytes);
      outcome.messageId = message.messageId;
      const seen = await db
        .selectFrom('ddex_ingestions')
        .select('id')
        .where('message_sha256', '=', sha)
        .where('status', '=', 'accepted')
        .executeTakeFirst();
      if (seen) {
        outcome.status = 'unchanged';
        outcome.reason = 'this message was applied before; nothing changed';
      } else if (message.test) {
        // A TestMessage (MessageControlType) is checked as a live one would be, and never applied.
        if (message.kind === 'NewReleaseMessage') await checkNewRelease(message, path.dirname(file), settings, ffmpegPath);
        outcome.status = 'unchanged';
        outcome.reason = 'a TestMessage: checked, not applied';
      } else if (message.kind === 'PurgeReleaseMessage') {
        const { purged } = message;
        outcome.releases = await db.transaction().execute((tx) => purgeReleases(tx, purged, toDbTime(at)));
        outcome.status = 'accepted';
      } else {
        const checked = await checkNewRelease(message, path.dirname(file), settings, ffmpegPath);
        // Media first (content-addressed, so a refused or repeated message leaves only reusable files), then one transaction.
        const stored = await Promise.all(
          checked.map((c) =>
            Promise.all(
              c.tracks.map(async ({ audio }) => ({
                // Kept as delivered, under the same keys as a folder import would use.
                media:
                  audio.master.format === 'mp3'
                    ? await media.saveMp3Master(audio.audioSha256, audio.bytes)
                    : await media.saveLosslessMaster(sha256(audio.bytes), audio.master.format, audio.bytes),
                preview: await media.savePreview(audio.audioSha256, audio.preview),
              })),
            ),
          ),
        );
        const covers = await Promise.all(
          checked.map((c) => (c.cover ? media.saveCover(c.cover.data, c.cover.extension) : Promise.resolve(null))),
        );
        outcome.releases = await db.transaction().execute(async (tx) => {
          const results: ReleaseOutcome[] = [];
          for (const [i, c] of checked.entries()) results.push(await applyRelease(tx, c, stored[i]!, covers[i]!, at));
          return results;
        });
        outcome.status = 'accepted';
      }
    } catch (error) {
      if (!(error instanceof RefusedMessage)) throw error;
      outcome.status = 'refused';
      outcome.reason = error.message;
      fileStatus = error.fileStatus;
      affectedIsrc = error.affectedIsrc;
    }
    await record(outcome, sha, message?.kind ?? null, at);
    const named =
      message?.kind === 'NewReleaseMessage'
        ? message.releases.filter((r) => r.isMain).map((r) => r.icpn)
        : message?.kind === 'PurgeReleaseMessage'
          ? message.purged.map((p) => p.icpn)
          : [];
    await fs.writeFile(
      ackPath(file),
      acknowledgementXml(
        {
          ...outcome,
          kind: message?.kind ?? null,
          storePartyId: message?.recipientPartyId ?? null,
          senderPartyId: message?.senderPartyId ?? null,
          fileStatus,
          affectedIsrc,
          namedIcpns: named.filter((icpn): icpn is string => icpn !== null),
        },
        at,
      ),
    );
    if (outcome.status === 'accepted') deps.onChange?.();
    return outcome;
  }

  return {
    /** Every complete batch's messages not yet acknowledged; an incomplete batch is left for later. */
    async ingestFolder(dir: string): Promise<{ outcomes: MessageOutcome[]; waiting: string[] }> {
      const outcomes: MessageOutcome[] = [];
      const waiting: string[] = [];
      const batches = (await fs.readdir(dir, { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
      for (const batch of batches) {
        const batchDir = path.join(dir, batch);
        const files = await messageFiles(batchDir);
        if (!files.complete) {
          waiting.push(batch);
          continue;
        }
        for (const file of files.messages) {
          if (await exists(ackPath(file))) continue;
          outcomes.push(await ingestMessage(batch, file));
        }
      }
      return { outcomes, waiting };
    },
  };
}

export const ackPath = (file: string) => path.join(path.dirname(file), `ACK_${path.basename(file)}`);
const exists = (file: string) =>
  fs.stat(file).then(
    () => true,
    () => false,
  );

async function messageFiles(batchDir: string): Promise<{ complete: boolean; messages: string[] }> {
  const entries = await fs.readdir(batchDir, { recursive: true, withFileTypes: true });
  let complete = false;
  const messages: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const relative = path.relative(batchDir, path.join(entry.parentPath, entry.name));
    if (relative.split(path.sep).length > MAX_BATCH_DEPTH) continue;
    if (/^BatchComplete_.*\.xml$/i.test(entry.name)) complete = true;
    else if (/\.xml$/i.test(entry.name) && !entry.name.startsWith('ACK_') && !relative.split(path.sep).includes('resources'))
      messages.push(path.join(entry.parentPath, entry.name));
  }
  return { complete, messages: messages.sort() };
}

export type Ingester = ReturnType<typeof createIngester>;
