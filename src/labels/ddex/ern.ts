/**
 * Reads a DDEX ERN 4.3 message (NewReleaseMessage or PurgeReleaseMessage) into the few facts the
 * store uses. Parsed by fast-xml-parser after two refusals of our own: any DOCTYPE (so no DTD, no
 * entity, no XXE: fast-xml-parser never fetches, and we do not let it expand anything) and any
 * message over MAX_MESSAGE_BYTES. Namespace prefixes are dropped; element names follow the
 * standard (docs/labels.md lists what is read).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const MAX_MESSAGE_BYTES = 5 * 1024 * 1024;

export class RefusedMessage extends Error {}

export interface ErnParty {
  reference: string;
  name: string;
  partyId: string | null;
}

export interface ErnFile {
  uri: string;
  hashAlgorithm: string | null;
  hashValue: string | null;
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
  takeDown: boolean;
  /** SuggestedRetailPrice (or a retail price) in the given currency, as written: "7.99". */
  retailPrice: { currency: string; amount: string } | null;
  wholesalePrice: { currency: string; amount: string } | null;
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
  'ResourceEdition',
  'TechnicalDetails',
  'DeliveryFile',
  'File',
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
  processEntities: false,
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

/** ISO 8601 duration (PT3M25S, PT1H2M3.5S) in milliseconds; null when absent or unreadable. */
export function durationMs(value: string | null): number | null {
  const match = value ? /^P(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)$/.exec(value) : null;
  if (!match) return null;
  return Math.round(((Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)) * 60 + Number(match[3] ?? 0)) * 1000);
}

const isoDate = (value: string | null) => (value && /^\d{4}-\d{2}-\d{2}/.test(value) ? value.slice(0, 10) : null);

function fileOf(details: unknown): ErnFile | null {
  for (const technical of asArray(details)) {
    const file = first(first(technical.DeliveryFile)?.File) ?? first(technical.File);
    const uri = text(file?.URI) ?? text(file?.FileName);
    if (!file || !uri) continue;
    const hash = first(file.HashSum);
    return {
      uri,
      hashAlgorithm: text(hash?.Algorithm) ?? text(hash?.HashSumAlgorithmType),
      hashValue: text(hash?.HashSumValue) ?? text(hash?.HashSum),
    };
  }
  return null;
}

const lineText = (v: unknown, kind: 'PLineText' | 'CLineText') => text(first(v)?.[kind]);
const partyName = (v: unknown) => text(first(first(v)?.FullName)) ?? text(first(v));

function soundRecording(node: Node): ErnSoundRecording {
  const edition = first(node.SoundRecordingEdition) ?? node;
  return {
    reference: text(node.ResourceReference) ?? '',
    isrc: text(first(edition.ResourceId)?.ISRC) ?? text(first(node.ResourceId)?.ISRC) ?? text(first(node.SoundRecordingId)?.ISRC),
    title: text(node.DisplayTitleText) ?? text(first(node.DisplayTitle)?.TitleText) ?? '',
    artistName: text(node.DisplayArtistName),
    durationMs: durationMs(text(node.Duration)),
    pLine: lineText(edition.PLine, 'PLineText') ?? lineText(node.PLine, 'PLineText'),
    file: fileOf(edition.TechnicalDetails ?? node.TechnicalDetails),
  };
}

function image(node: Node): ErnImage {
  const edition = first(node.ResourceEdition) ?? node;
  return {
    reference: text(node.ResourceReference) ?? '',
    type: text(node.Type),
    file: fileOf(edition.TechnicalDetails ?? node.TechnicalDetails),
  };
}

function price(v: unknown) {
  const amount = text(v);
  const currency = attr(v, 'CurrencyCode');
  return amount && currency ? { currency: currency.toUpperCase(), amount } : null;
}

function deal(node: Node): ErnDeal {
  const terms = first(node.DealTerms) ?? {};
  const usage = first(terms.Usage) ?? {};
  const validity = first(terms.ValidityPeriod) ?? {};
  const prices = first(terms.PriceInformation) ?? {};
  return {
    commercialModels: texts(terms.CommercialModelType),
    useTypes: [...texts(terms.UseType), ...texts(usage.UseType)],
    territories: texts(terms.TerritoryCode),
    excludedTerritories: texts(terms.ExcludedTerritoryCode),
    startDate: isoDate(text(validity.StartDate) ?? text(validity.StartDateTime)),
    endDate: isoDate(text(validity.EndDate) ?? text(validity.EndDateTime)),
    takeDown: text(terms.TakeDown) === 'true',
    retailPrice: price(prices.SuggestedRetailPrice) ?? price(prices.RetailPrice),
    wholesalePrice: price(prices.WholesalePricePerUnit),
    priceTier: text(prices.PriceType) ?? text(prices.PriceRangeType) ?? text(prices.PriceCode),
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
    title: text(node.DisplayTitleText) ?? text(first(node.DisplayTitle)?.TitleText) ?? '',
    artistName: text(node.DisplayArtistName),
    labelReference: text(node.ReleaseLabelReference),
    genre: text(first(node.Genre)?.GenreText),
    releaseDate: isoDate(text(node.ReleaseDate) ?? text(node.OriginalReleaseDate)),
    parentalWarning: text(node.ParentalWarningType),
    pLine: lineText(node.PLine, 'PLineText'),
    cLine: lineText(node.CLine, 'CLineText'),
    releaseType: text(node.ReleaseType),
    resourceReferences: [...new Set(resourceReferences)],
    deals: dealsByRelease.get(reference) ?? [],
  };
}

/** Parses the bytes of a message; throws RefusedMessage with the reason in words. */
export function parseErn(xml: Buffer): ErnMessage {
  if (xml.length > MAX_MESSAGE_BYTES) throw new RefusedMessage(`the message is larger than ${MAX_MESSAGE_BYTES / 1024 / 1024} MB`);
  const source = xml.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(source))
    throw new RefusedMessage('the message declares a DOCTYPE or entities, which are refused (no DTDs)');
  const valid = XMLValidator.validate(source);
  if (valid !== true) throw new RefusedMessage(`the message is not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  const document = parser.parse(source) as Node;
  const header = (root: Node) => {
    const messageHeader = first(root.MessageHeader) ?? {};
    const sender = first(messageHeader.MessageSender) ?? {};
    const messageId = text(messageHeader.MessageId);
    if (!messageId) throw new RefusedMessage('the MessageHeader has no MessageId');
    return { messageId, senderPartyId: text(sender.PartyId), senderName: partyName(sender.PartyName) };
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
