import { LRUCache } from 'lru-cache';

/**
 * A short-lived memory of catalogue pages' data. The catalogue changes only on import or an
 * operator's edit, so a page may be up to `ttlSeconds` old; prices charged at checkout never come
 * from here. Each process keeps its own, which is why the lifetime is short.
 */
export function createPageCache(ttlSeconds: number, clock: () => Date) {
  if (ttlSeconds <= 0) return <T>(_key: string, load: () => Promise<T>) => load();
  const cache = new LRUCache<string, { value: unknown }>({
    max: 2000,
    ttl: ttlSeconds * 1000,
    perf: { now: () => clock().getTime() },
  });
  return async <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const hit = cache.get(key);
    if (hit) return hit.value as T;
    const value = await load();
    cache.set(key, { value });
    return value;
  };
}

export type PageCache = ReturnType<typeof createPageCache>;
