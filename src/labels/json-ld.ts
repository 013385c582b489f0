/**
 * schema.org structured data for release pages (MusicAlbum with its MusicRecording tracks), as the
 * text of a <script type="application/ld+json">. HTML does not decode entities inside a script,
 * so the JSON is made safe instead: every '<', '>' and '&' becomes its \u escape (a title holding
 * "</script>" cannot close the element), and so do U+2028/U+2029.
 */
export function jsonLdScriptText(data: unknown): string {
  return JSON.stringify(data).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface AlbumFacts {
  url: string;
  title: string;
  artistName: string;
  artistUrl: string;
  releaseDate: string | null;
  genreName: string | null;
  labelName: string | null;
  icpn: string | null;
  catalogueNumber: string | null;
  coverUrl: string | null;
  trackCount: number;
  pricePence: number;
  buyable: boolean;
  tracks: { title: string; artistName: string; durationMs: number; isrc: string | null; number: number }[];
}

const isoDuration = (ms: number) => `PT${Math.floor(ms / 60_000)}M${Math.round((ms % 60_000) / 1000)}S`;

export function musicAlbum(origin: string, album: AlbumFacts) {
  return {
    '@context': 'https://schema.org',
    '@type': 'MusicAlbum',
    '@id': origin + album.url,
    url: origin + album.url,
    name: album.title,
    byArtist: { '@type': 'MusicGroup', name: album.artistName, url: origin + album.artistUrl },
    ...(album.releaseDate ? { datePublished: album.releaseDate } : {}),
    ...(album.genreName ? { genre: album.genreName } : {}),
    ...(album.labelName ? { recordLabel: { '@type': 'Organization', name: album.labelName } } : {}),
    ...(album.icpn ? { gtin: album.icpn } : {}),
    ...(album.catalogueNumber ? { catalogNumber: album.catalogueNumber } : {}),
    ...(album.coverUrl ? { image: origin + album.coverUrl } : {}),
    numTracks: album.trackCount,
    offers: {
      '@type': 'Offer',
      price: (album.pricePence / 100).toFixed(2),
      priceCurrency: 'GBP',
      availability: album.buyable ? 'https://schema.org/InStock' : 'https://schema.org/OutOfStock',
      url: origin + album.url,
    },
    track: album.tracks.map((t) => ({
      '@type': 'MusicRecording',
      name: t.title,
      position: t.number,
      byArtist: { '@type': 'MusicGroup', name: t.artistName },
      duration: isoDuration(t.durationMs),
      ...(t.isrc ? { isrcCode: t.isrc } : {}),
    })),
  };
}
