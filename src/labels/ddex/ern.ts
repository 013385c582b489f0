/**
 * Reads a DDEX ERN 4.3 message (NewReleaseMessage or PurgeReleaseMessage) into the few facts the
 * store uses. Parsed by fast-xml-parser after two refusals of our own: any DOCTYPE (so no DTD, no
 * entity, no XXE: fast-xml-parser never fetches, and only the predefined entities and character
 * references are left to decode) and any message over MAX_MESSAGE_BYTES. Namespace prefixes are dropped; element names and paths follow
 * the ERN 4.3 schema (release-notification.xsd; docs/labels.md says which copy and what is read).
 * Where 4.3 lets an element repeat per territory or language (DisplayTitleText, DisplayArtistName,
 * ReleaseLabelReference, ReleaseDate, ParentalWarningType, ...), the one marked IsDefault wins,
 * else the first with text.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const MAX_MESSAGE_BYTES = 5 * 1024 * 1024;

/** The choreography's words for what was wrong with a delivery (ErncFileStatus), as the acknowledgement gives them. */
export type FileStatus =
  | 'FileOK'
  | 'NewReleaseMessageInvalid'
  | 'MetadataMissing'
  | 'ResourceMissing'
  | 'ResourceCorrupt'
  | 'ResourceNotMeetingSpecifications'
  | 'SignatureOrHashSumWrongOrMissing'
  | 'IdentifierInvalid';

export class RefusedMessage extends Error {
  /** The ISRC of the sound recording at fault, for the acknowledgement's AffectedResource. */
  affectedIsrc: string | null = null;

  constructor(
    message: string,
    readonly fileStatus: FileStatus = 'NewReleaseMessageInvalid',
  ) {
    super(message);
  }
}

export interface ErnParty {
  reference: string;
  name: string;
  partyId: string | null;
}

export interface ErnFile {
  uri: string;
  hashAlgorithm: string | null;
  /** As hex (a Binary64 HashSum is converted). */
  hashValue: string | null;
  /** DeliveryFile/AudioCodecType as written (MP3, FLAC, PCM, ...); null for images or when not given. */
  codec: string | null;
}

export interface ErnSoundRecording {
  reference: string;
  isrc: string | null;
  title: string;
  artistName: string | null;
  durationMs: number | null;
  pLine: string | null;
  file: ErnFile | null;
}

export interface ErnImage {
  reference: string;
  type: string | null;
  file: ErnFile | null;
}

export interface ErnDeal {
  commercialModels: string[];
  useTypes: string[];
  territories: string[];
  excludedTerritories: string[];
  startDate: string | null;
  endDate: string | null;
  /** PriceInformation/SuggestedRetailPrice in the given currency, as written: "7.99". */
  retailPrice: { currency: string; amount: string } | null;
  wholesalePrice: { currency: string; amount: string } | null;
  /** PriceInformation/PriceCode: the sender's price tier ("Front", "Mid", ...). */
  priceTier: string | null;
}

export interface ErnRelease {
  reference: string;
  isMain: boolean;
  icpn: string | null;
  isrc: string | null;
  catalogueNumber: string | null;
  title: string;
  artistName: string | null;
  labelReference: string | null;
  genre: string | null;
  releaseDate: string | null;
  parentalWarning: string | null;
  pLine: string | null;
  cLine: string | null;
  releaseType: string | null;
  /** Resource references in sequence (ResourceGroupContentItem / ReleaseResourceReference). */
  resourceReferences: string[];
  deals: ErnDeal[];
}

export type ErnMessage =
  | {
      kind: 'NewReleaseMessage';
      messageId: string;
      senderPartyId: string | null;
      senderName: string | null;
      recipientPartyId: string | null;
      /** MessageHeader/MessageControlType TestMessage: checked and acknowledged, never applied. */
      test: boolean;
      parties: ErnParty[];
      soundRecordings: ErnSoundRecording[];
      images: ErnImage[];
      releases: ErnRelease[];
    }
  | {
      kind: 'PurgeReleaseMessage';
      messageId: string;
      senderPartyId: string | null;
      senderName: string | null;
      recipientPartyId: string | null;
      test: boolean;
      purged: { icpn: string | null; releaseId: string | null }[];
    };

type Node = Record<string, unknown>;

/** Elements that may repeat, always read as arrays. */
const LISTS = new Set([
  'Party',
  'SoundRecording',
  'Image',
  'Release',
  'TrackRelease',
  'ReleaseDeal',
  'Deal',
  'TerritoryCode',
  'ExcludedTerritoryCode',
  'CommercialModelType',
  'UseType',
  'ResourceGroup',
  'ResourceGroupContentItem',
  'ReleaseResourceReference',
  'PurgedRelease',
  'DealReleaseReference',
  'DisplayArtistName',
  'DisplayTitleText',
  'Genre',
  'PLine',
  'CLine',
  'ReleaseLabelReference',
  'ProprietaryId',
  'CatalogNumber',
  'SoundRecordingEdition',
  'TechnicalDetails',
  'DeliveryFile',
  'File',
  'DisplayTitle',
  'ReleaseType',
  'PriceInformation',
  'PartyName',
  'PartyId',
  'ReleaseDate',
  'OriginalReleaseDate',
  'ValidityPeriod',
  'DealTerms',
  'ParentalWarningType',
  'ResourceId',
  'ReleaseId',
]);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  // The predefined XML entities (&amp; ...) and character references (&#233;) are decoded; no
  // entity of the sender's own can exist, since any DOCTYPE is refused before parsing.
  processEntities: true,
  htmlEntities: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => LISTS.has(name),
});

const asArray = (v: unknown): Node[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]) as Node[];
const first = (v: unknown): Node | undefined => asArray(v)[0];
/** An element's text, whether it came as a string or as an object with attributes. */
function text(v: unknown): string | null {
  const node: unknown = Array.isArray(v) ? v[0] : v;
  if (node === undefined || node === null) return null;
  if (typeof node === 'string' || typeof node === 'number') return String(node).trim() || null;
  const inner = (node as Node)['#text'];
  return typeof inner === 'string' || typeof inner === 'number' ? String(inner).trim() || null : null;
}
const texts = (v: unknown) =>
  asArray(v)
    .map((n) => text(n))
    .filter((t): t is string => t !== null);
const attr = (v: unknown, name: string) => {
  const node = first(v);
  const value = node && typeof node === 'object' ? node[`@${name}`] : undefined;
  return typeof value === 'string' ? value : null;
};
/** Of an element that repeats per territory or language: the IsDefault one, else the first with text. */
function pick(v: unknown): string | null {
  const nodes = asArray(v);
  const marked = nodes.find((n) => typeof n === 'object' && n['@IsDefault'] === 'true');
  return (marked && text(marked)) ?? nodes.map((n) => text(n)).find((t) => t !== null) ?? null;
}
/** A title: DisplayTitleText, else DisplayTitle/TitleText (both are required in 4.3, either may be empty). */
const titleOf = (node: Node) =>
  pick(node.DisplayTitleText) ??
  asArray(node.DisplayTitle)
    .map((t) => text(t.TitleText))
    .find((t) => t !== null) ??
  null;

/** ISO 8601 duration (PT3M25S, PT1H2M3.5S) in milliseconds; null when absent or unreadable. */
export function durationMs(value: string | null): number | null {
  const match = value ? /^P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)$/.exec(value) : null;
  if (!match) return null;
  return Math.round(((Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)) * 60 + Number(match[3] ?? 0)) * 1000);
}

const isoDate = (value: string | null) => (value && /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : null);

/** A HashSum as hex: 4.3's DetailedHashSum may say its value is Binary64. */
function hashHex(hash: Node | undefined): string | null {
  const value = text(hash?.HashSumValue);
  if (!value) return null;
  return text(hash?.DataType) === 'Binary64' ? Buffer.from(value, 'base64').toString('hex') : value;
}

function deliveredFile(file: Node | undefined, codec: string | null): ErnFile | null {
  const uri = text(file?.URI);
  if (!file || !uri) return null;
  const hash = first(file.HashSum);
  return { uri, hashAlgorithm: text(hash?.Algorithm), hashValue: hashHex(hash), codec };
}

/**
 * The file of a resource: from TechnicalDetails (SoundRecording: .../DeliveryFile/File; Image:
 * .../File), skipping clips and files the sender says are not in this delivery.
 */
function fileOf(details: unknown): ErnFile | null {
  for (const technical of asArray(details)) {
    if (text(technical.IsClip) === 'true') continue;
    for (const delivery of asArray(technical.DeliveryFile)) {
      if (text(delivery.IsProvidedInDelivery) === 'false') continue;
      const file = deliveredFile(first(delivery.File), text(delivery.AudioCodecType));
      if (file) return file;
    }
    if (text(technical.IsProvidedInDelivery) === 'false') continue;
    const file = deliveredFile(first(technical.File), null);
    if (file) return file;
  }
  return null;
}

const lineText = (v: unknown, kind: 'PLineText' | 'CLineText') => {
  const lines = asArray(v);
  const line = lines.find((l) => l['@IsDefault'] === 'true') ?? lines[0];
  return text(line?.[kind]);
};
const partyName = (v: unknown) => text(first(first(v)?.FullName)) ?? text(first(v));

function soundRecording(node: Node): ErnSoundRecording {
  // An immersive (Atmos) edition may sit beside the stereo one; the store sells the stereo one.
  const editions = asArray(node.SoundRecordingEdition);
  const edition = editions.find((e) => text(e.Type) !== 'ImmersiveEdition') ?? editions[0] ?? {};
  return {
    reference: text(node.ResourceReference) ?? '',
    isrc:
      asArray(edition.ResourceId)
        .map((id) => text(id.ISRC))
        .find((isrc) => isrc !== null) ?? null,
    title: titleOf(node) ?? '',
    artistName: pick(node.DisplayArtistName),
    durationMs: durationMs(text(node.Duration)),
    pLine: lineText(edition.PLine, 'PLineText'),
    file: fileOf(edition.TechnicalDetails),
  };
}

function image(node: Node): ErnImage {
  return { reference: text(node.ResourceReference) ?? '', type: text(node.Type), file: fileOf(node.TechnicalDetails) };
}

function price(v: unknown) {
  const amount = text(v);
  const currency = attr(v, 'CurrencyCode');
  return amount && currency ? { currency: currency.toUpperCase(), amount } : null;
}

function deal(node: Node): ErnDeal {
  const terms = first(node.DealTerms) ?? {};
  const validity = first(terms.ValidityPeriod) ?? {};
  // A PreOrderPrice is for a pre-order deal, which this store does not sell; the standard retail price counts.
  const prices = asArray(terms.PriceInformation).find((p) => p['@PriceType'] !== 'PreOrderPrice') ?? {};
  return {
    commercialModels: texts(terms.CommercialModelType),
    useTypes: texts(terms.UseType),
    territories: texts(terms.TerritoryCode),
    excludedTerritories: texts(terms.ExcludedTerritoryCode),
    startDate: isoDate(text(validity.StartDate) ?? text(validity.StartDateTime)),
    endDate: isoDate(text(validity.EndDate) ?? text(validity.EndDateTime)),
    retailPrice: price(prices.SuggestedRetailPrice),
    wholesalePrice: price(prices.WholesalePricePerUnit),
    priceTier: text(prices.PriceCode),
  };
}

function release(node: Node, isMain: boolean, dealsByRelease: Map<string, ErnDeal[]>): ErnRelease {
  const ids = first(node.ReleaseId) ?? {};
  const reference = text(node.ReleaseReference) ?? '';
  const groupItems = (group: Node): string[] => [
    ...asArray(group.ResourceGroupContentItem).flatMap((item) => texts(item.ReleaseResourceReference)),
    ...asArray(group.ResourceGroup).flatMap(groupItems),
  ];
  const resourceReferences = [...asArray(node.ResourceGroup).flatMap(groupItems), ...texts(node.ReleaseResourceReference)];
  return {
    reference,
    isMain,
    icpn: text(ids.ICPN),
    isrc: text(ids.ISRC),
    catalogueNumber: text(ids.CatalogNumber),
    title: titleOf(node) ?? '',
    artistName: pick(node.DisplayArtistName),
    labelReference: pick(node.ReleaseLabelReference),
    genre: text(first(node.Genre)?.GenreText),
    releaseDate: isoDate(pick(node.ReleaseDate) ?? pick(node.OriginalReleaseDate)),
    parentalWarning: pick(node.ParentalWarningType),
    pLine: lineText(node.PLine, 'PLineText'),
    cLine: lineText(node.CLine, 'CLineText'),
    releaseType: pick(node.ReleaseType),
    resourceReferences: [...new Set(resourceReferences)],
    deals: dealsByRelease.get(reference) ?? [],
  };
}

/** The message's text: ERN may come as UTF-8 or UTF-16 (either byte order, told by its byte-order mark). */
function decode(xml: Buffer): string {
  if (xml[0] === 0xff && xml[1] === 0xfe) return xml.subarray(2).toString('utf16le');
  if (xml[0] === 0xfe && xml[1] === 0xff)
    return Buffer.from(xml.subarray(2, xml.length - (xml.length % 2)))
      .swap16()
      .toString('utf16le');
  return xml.toString('utf8').replace(/^\uFEFF/, '');
}

/** Parses the bytes of a message; throws RefusedMessage with the reason in words. */
export function parseErn(xml: Buffer): ErnMessage {
  if (xml.length > MAX_MESSAGE_BYTES) throw new RefusedMessage(`the message is larger than ${MAX_MESSAGE_BYTES / 1024 / 1024} MB`);
  const source = decode(xml);
  if (/<!DOCTYPE|<!ENTITY/i.test(source))
    throw new RefusedMessage('the message declares a DOCTYPE or entities, which are refused (no DTDs)');
  const valid = XMLValidator.validate(source);
  if (valid !== true) throw new RefusedMessage(`the message is not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  const document = parser.parse(source) as Node;
  const header = (root: Node) => {
    const messageHeader = first(root.MessageHeader) ?? {};
    const sender = first(messageHeader.MessageSender) ?? {};
    const messageId = text(messageHeader.MessageId);
    if (!messageId) throw new RefusedMessage('the MessageHeader has no MessageId', 'MetadataMissing');
    return {
      messageId,
      senderPartyId: text(sender.PartyId),
      senderName: partyName(sender.PartyName),
      recipientPartyId: text(first(messageHeader.MessageRecipient)?.PartyId),
      test: text(messageHeader.MessageControlType) === 'TestMessage',
    };
  };
  if (document.NewReleaseMessage) {
    const root = first(document.NewReleaseMessage)!;
    const dealsByRelease = new Map<string, ErnDeal[]>();
    for (const releaseDeal of asArray(first(root.DealList)?.ReleaseDeal)) {
      const deals = asArray(releaseDeal.Deal).map(deal);
      for (const ref of texts(releaseDeal.DealReleaseReference)) dealsByRelease.set(ref, [...(dealsByRelease.get(ref) ?? []), ...deals]);
    }
    const resources = first(root.ResourceList) ?? {};
    const releases = first(root.ReleaseList) ?? {};
    return {
      kind: 'NewReleaseMessage',
      ...header(root),
      parties: asArray(first(root.PartyList)?.Party).map((p) => ({
        reference: text(p.PartyReference) ?? '',
        name: partyName(p.PartyName) ?? '',
        partyId: text(first(p.PartyId)?.DPID) ?? text(p.PartyId),
      })),
      soundRecordings: asArray(resources.SoundRecording).map(soundRecording),
      images: asArray(resources.Image).map(image),
      releases: [
        ...asArray(releases.Release).map((r) => release(r, true, dealsByRelease)),
        ...asArray(releases.TrackRelease).map((r) => release(r, false, dealsByRelease)),
      ],
    };
  }
  if (document.PurgeReleaseMessage) {
    const root = first(document.PurgeReleaseMessage)!;
    const purged = asArray(root.PurgedRelease).map((p) => {
      const ids = first(p.ReleaseId) ?? {};
      return { icpn: text(ids.ICPN), releaseId: text(ids.GRid) ?? text(ids.ProprietaryId) };
    });
    return { kind: 'PurgeReleaseMessage', ...header(root), purged };
  }
  throw new RefusedMessage('this is not a DDEX ERN NewReleaseMessage or PurgeReleaseMessage');
}
