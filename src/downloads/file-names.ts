/**
 * File names for a customer's disk: no path separators, no characters Windows or macOS refuse,
 * no control characters, never empty, not too long.
 */
export function safeFileName(name: string, maxLength = 120): string {
  const cleaned = name
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex -- control characters are exactly what file names must not hold
    .replace(/[\u0000-\u001f\u007f<>:"/\\|?*]+/g, '_')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  return (cleaned || 'track').slice(0, maxLength);
}

export function trackFileName(artist: string, title: string): string {
  return `${safeFileName(`${artist} - ${title}`)}.mp3`;
}

export function zipEntryName(folder: string, disc: number, multiDisc: boolean, number: number, title: string): string {
  const position = `${multiDisc ? `${disc}-` : ''}${String(number).padStart(2, '0')}`;
  return `${safeFileName(folder)}/${position} ${safeFileName(title)}.mp3`;
}
