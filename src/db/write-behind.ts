/**
 * Writes that may wait a moment (usage counts, the download log) are gathered in memory and
 * written every `everyMs` by `writeOut`, one write at a time: a flush on close waits for the
 * timer's flush rather than racing it, and the timer skips its turn while a slow write is still
 * going. The timer does not keep the process alive; `close` writes what is left.
 */
export interface WriteBehind {
  /** Writes what has been gathered so far; resolves once written (or put back by writeOut after a failure). */
  flush: () => Promise<void>;
  /** A flush unless one is already waiting or running (for a buffer that has grown large). */
  nudge: () => void;
  /** Stops the timer and writes what is left. */
  close: () => Promise<void>;
}

export function writeBehind(writeOut: () => Promise<void>, everyMs: number): WriteBehind {
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;
  const flush = () => {
    queued += 1;
    queue = queue.then(writeOut).finally(() => void (queued -= 1));
    return queue;
  };
  const nudge = () => {
    if (queued === 0) void flush();
  };
  const timer = setInterval(nudge, everyMs);
  timer.unref();
  return {
    flush,
    nudge,
    close() {
      clearInterval(timer);
      return flush();
    },
  };
}
