import { LRUCache } from 'lru-cache';

/**
 * A short-lived memory of catalogue pages' data. The catalogue changes only on import or an
 * operator's edit, so a page may be up to `ttlSeconds` old; prices charged at checkout never come
 * from here. Each process keeps its own, which is why the lifetime is short. The promise is kept,
 * not the value, so a burst of requests for a page that just expired reads the database once.
 */
export function createPageCache(ttlSeconds: number, clock: () => Date) {
  // clear(): an operator's edit shows at once in this process (others within ttlSeconds).
  if (ttlSeconds <= 0) return Object.assign(<T>(_key: string, load: () => Promise<T>) => load(), { clear: () => {} });
  const cache = new LRUCache<string, Promise<unknown>>({
    max: 2000,
    ttl: ttlSeconds * 1000,
    perf: { now: () => clock().getTime() },
  });
  const cached = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    let entry = cache.get(key) as Promise<T> | undefined;
    if (!entry) {
      entry = load();
      cache.set(key, entry);
      entry.catch(() => cache.delete(key)); // a failed read is not remembered
    }
    return entry;
  };
  return Object.assign(cached, { clear: () => cache.clear() });
}

/** What the catalogue service reads through (clear() stays with whoever created the cache). */
export type PageCache = <T>(key: string, load: () => Promise<T>) => Promise<T>;
