import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeMp3 } from './mp3.js';

/**
 * Writes ERN 4.3 delivery folders for tests: batches, messages beside their resources/, markers.
 * The messages follow the ERN 4.3 schema (release-notification.xsd): every element the schema
 * requires is there, in its order, so the parser is tested on what a distributor really sends
 * (docs/labels.md says which copy of the schema they were validated against).
 */

export interface TrackSpec {
  isrc: string;
  title: string;
  seconds?: number;
  frequency?: number;
  /** Write a wrong hash for this file, or leave the file out. */
  badHash?: boolean;
  missing?: boolean;
  /** A FLAC master (made with ffmpeg, 16-bit 44.1 kHz stereo) instead of an MP3. */
  format?: 'mp3' | 'flac';
}

export interface DealSpec {
  territories?: string[];
  useType?: string;
  model?: string;
  start?: string;
  end?: string;
  retail?: { amount: string; currency?: string };
  tier?: string;
  /** PriceInformation's PriceType attribute (StandardRetailPrice, PreOrderPrice). */
  priceType?: string;
}

export interface ReleaseSpec {
  messageId: string;
  icpn: string;
  title: string;
  artist: string;
  label?: { name: string; dpid: string } | null;
  tracks: TrackSpec[];
  deals: DealSpec[];
  genre?: string;
  catalogueNumber?: string;
  /** MessageControlType TestMessage: to be checked, never applied. */
  test?: boolean;
  /** The release's ReleaseType (AVS value); Album unless given. */
  releaseType?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function dealXml(d: DealSpec): string {
  const price =
    d.retail || d.tier
      ? `<PriceInformation${d.priceType ? ` PriceType="${d.priceType}"` : ''}>${d.tier ? `<PriceCode Namespace="DPID:PADPIDA2026SENDER">${d.tier}</PriceCode>` : ''}${d.retail ? `<SuggestedRetailPrice CurrencyCode="${d.retail.currency ?? 'GBP'}">${d.retail.amount}</SuggestedRetailPrice>` : ''}</PriceInformation>`
      : '';
  const period = `<ValidityPeriod><StartDate>${d.start ?? '2020-01-01'}</StartDate>${d.end ? `<EndDate>${d.end}</EndDate>` : ''}</ValidityPeriod>`;
  return `<Deal><DealTerms>${(d.territories ?? ['Worldwide']).map((t) => `<TerritoryCode>${t}</TerritoryCode>`).join('')}${period}<CommercialModelType>${d.model ?? 'PayAsYouGoModel'}</CommercialModelType><UseType>${d.useType ?? 'PermanentDownload'}</UseType>${price}</DealTerms></Deal>`;
}

/** A real FLAC master: a sine tone encoded by ffmpeg. */
export function makeFlac(seconds: number, frequency: number): Buffer {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ddex-flac-')), 'tone.flac');
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=${frequency}:duration=${seconds}:sample_rate=44100`,
    '-ac',
    '2',
    '-c:a',
    'flac',
    '-sample_fmt',
    's16',
    file,
  ]);
  const bytes = fs.readFileSync(file);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return bytes;
}

const header = (messageId: string, created: string, test = false) =>
  `<MessageHeader><MessageId>${messageId}</MessageId><MessageSender><PartyId>PADPIDA2026SENDER</PartyId><PartyName><FullName>Test Distributor</FullName></PartyName></MessageSender><MessageRecipient><PartyId>PADPIDA2026STORE1</PartyId><PartyName><FullName>Test Store</FullName></PartyName></MessageRecipient><MessageCreatedDateTime>${created}</MessageCreatedDateTime>${test ? '<MessageControlType>TestMessage</MessageControlType>' : ''}</MessageHeader>`;
const artistXml = (name: string) =>
  `<DisplayArtistName>${esc(name)}</DisplayArtistName><DisplayArtist SequenceNumber="1"><ArtistPartyReference>PArtist</ArtistPartyReference><DisplayArtistRole>MainArtist</DisplayArtistRole></DisplayArtist>`;
const titleXml = (title: string) =>
  `<DisplayTitleText>${esc(title)}</DisplayTitleText><DisplayTitle><TitleText>${esc(title)}</TitleText></DisplayTitle>`;

/** A NewReleaseMessage for `spec`, with its audio written under `dir/resources/`. */
export function writeNewRelease(dir: string, spec: ReleaseSpec, fileName = `${spec.icpn}.xml`): string {
  fs.mkdirSync(path.join(dir, 'resources'), { recursive: true });
  const label = spec.label === undefined ? { name: 'Kestrel Music', dpid: 'PADPIDA2026KESTREL' } : spec.label;
  const recordings = spec.tracks.map((t, i) => {
    const frequency = t.frequency ?? 300 + i * 40 + Number(spec.icpn.slice(-3));
    const flac = t.format === 'flac';
    const file = `resources/${spec.icpn}_${i + 1}.${flac ? 'flac' : 'mp3'}`;
    const bytes = flac ? makeFlac(t.seconds ?? 2, frequency) : makeMp3(t.seconds ?? 2, { title: t.title, artist: spec.artist }, frequency);
    if (!t.missing) fs.writeFileSync(path.join(dir, file), bytes);
    const hash = t.badHash ? sha256(Buffer.from('something else')) : sha256(bytes);
    const delivery = `<DeliveryFile><Type>AudioFile</Type><AudioCodecType>${flac ? 'FLAC' : 'MP3'}</AudioCodecType><File><URI>${file}</URI><HashSum><Algorithm>SHA-256</Algorithm><HashSumValue>${hash}</HashSumValue></HashSum></File></DeliveryFile>`;
    return `<SoundRecording><ResourceReference>A${i + 1}</ResourceReference><Type>MusicalWorkSoundRecording</Type><SoundRecordingEdition><ResourceId><ISRC>${t.isrc}</ISRC></ResourceId><PLine><Year>2026</Year><PLineText>2026 ${esc(label?.name ?? 'x')}</PLineText></PLine><TechnicalDetails><TechnicalResourceDetailsReference>T${i + 1}</TechnicalResourceDetailsReference>${delivery}</TechnicalDetails></SoundRecordingEdition>${titleXml(t.title)}${artistXml(spec.artist)}<Duration>PT0M${t.seconds ?? 2}S</Duration><ParentalWarningType>NotExplicit</ParentalWarningType></SoundRecording>`;
  });
  const items = spec.tracks
    .map(
      (_, i) =>
        `<ResourceGroupContentItem><SequenceNumber>${i + 1}</SequenceNumber><ReleaseResourceReference>A${i + 1}</ReleaseResourceReference></ResourceGroupContentItem>`,
    )
    .join('');
  const labelParty = label
    ? `<Party><PartyReference>PLabel</PartyReference><PartyName><FullName>${esc(label.name)}</FullName></PartyName><PartyId><DPID>${label.dpid}</DPID></PartyId></Party>`
    : '';
  const catalogueNumber = spec.catalogueNumber
    ? `<CatalogNumber Namespace="DPID:${label?.dpid ?? ''}">${spec.catalogueNumber}</CatalogNumber>`
    : '';
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43" AvsVersionId="4" LanguageAndScriptCode="en">
  ${header(spec.messageId, '2026-12-01T10:00:00Z', spec.test)}
  <PartyList>${labelParty}<Party><PartyReference>PArtist</PartyReference><PartyName><FullName>${esc(spec.artist)}</FullName></PartyName></Party></PartyList>
  <ResourceList>${recordings.join('')}</ResourceList>
  <ReleaseList><Release><ReleaseReference>R0</ReleaseReference><ReleaseType>${spec.releaseType ?? 'Album'}</ReleaseType><ReleaseId><ICPN>${spec.icpn}</ICPN>${catalogueNumber}</ReleaseId>${titleXml(spec.title)}${artistXml(spec.artist)}${label ? '<ReleaseLabelReference>PLabel</ReleaseLabelReference>' : ''}<PLine><Year>2026</Year><PLineText>2026 ${esc(label?.name ?? '')}</PLineText></PLine><CLine><Year>2026</Year><CLineText>2026 ${esc(label?.name ?? '')}</CLineText></CLine><Genre><GenreText>${spec.genre ?? 'Folk'}</GenreText></Genre><ReleaseDate>2026-06-01</ReleaseDate><ParentalWarningType>NotExplicit</ParentalWarningType><ResourceGroup>${items}</ResourceGroup></Release></ReleaseList>
  <DealList><ReleaseDeal><DealReleaseReference>R0</DealReleaseReference>${spec.deals.map(dealXml).join('')}</ReleaseDeal></DealList>
</ern:NewReleaseMessage>
`;
  const file = path.join(dir, fileName);
  fs.writeFileSync(file, xml);
  return file;
}

export function writePurge(dir: string, messageId: string, icpn: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `purge_${icpn}.xml`);
  fs.writeFileSync(
    file,
    `<?xml version="1.0" encoding="UTF-8"?>
<ern:PurgeReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43" AvsVersionId="4" LanguageAndScriptCode="en">${header(messageId, '2026-12-02T10:00:00Z')}<PurgedRelease><ReleaseId><ICPN>${icpn}</ICPN></ReleaseId></PurgedRelease></ern:PurgeReleaseMessage>
`,
  );
  return file;
}

/** The batch is complete: its BatchComplete marker is written last, as the choreography says. */
export function completeBatch(batchDir: string): void {
  fs.writeFileSync(path.join(batchDir, `BatchComplete_${path.basename(batchDir)}.xml`), '<?xml version="1.0"?><BatchComplete/>\n');
}
