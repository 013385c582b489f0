/** Small helpers for running the importer's stages (read, store media, write) side by side. */

/**
 * Yields what `source` yields, asking it for up to `count` items ahead of the consumer, so the
 * stage behind `source` works on the next item while the consumer works on this one. An async
 * generator runs the requests queued on it one after another, so `source` still runs in order.
 */
export async function* ahead<T>(source: AsyncIterator<T>, count: number): AsyncGenerator<T> {
  const queued: Promise<IteratorResult<T>>[] = [];
  for (;;) {
    while (queued.length < count + 1) {
      const next = source.next();
      // Awaited below; this only keeps a failure in an item nobody waits for any more from
      // becoming an unhandled rejection when the consumer stops early.
      next.catch(() => {});
      queued.push(next);
    }
    const item = await queued.shift()!;
    if (item.done) return;
    yield item.value;
  }
}

/** Runs `work` on every item, at most `limit` at a time. */
export async function eachAtMost<T>(limit: number, items: Iterable<T>, work: (item: T) => Promise<void>): Promise<void> {
  const queue = items[Symbol.iterator]();
  const worker = async () => {
    for (let item = queue.next(); !item.done; item = queue.next()) await work(item.value);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}
