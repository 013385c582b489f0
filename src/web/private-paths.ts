/**
 * Paths that carry a secret: a sign-in link's token, an unsubscribe link's token. Whatever writes
 * a path down (the request log, an error line) writes it with the token replaced, so no log line
 * can be replayed to sign in or to change someone's choices (page-view counts do the same in
 * src/analytics/page-view.ts).
 */
const SECRET_SEGMENTS: [RegExp, string][] = [
  [/\/account\/link\/[^/?#]+/gi, '/account/link/:token'],
  [/\/unsubscribe\/[^/?#]+/gi, '/unsubscribe/:token'],
];

/** The path with every token replaced by its route's placeholder (:token). */
export function withoutTokens(path: string): string {
  return SECRET_SEGMENTS.reduce((p, [pattern, placeholder]) => p.replace(pattern, placeholder), path);
}
