/**
 * How backup and restore report what they are doing. The command draws a bar on a terminal and
 * prints plain lines otherwise; the logic only calls these.
 */
export interface Progress {
  /** A new phase with `total` steps of `unit` (tables, pages, bytes, files). */
  start(phase: string, total: number, unit: string): void;
  /** `done` steps of the current phase finished; `detail` says which (a table name, a size). */
  update(done: number, detail: string): void;
  /** The current phase is over. */
  stop(): void;
}

export const silentProgress: Progress = { start() {}, update() {}, stop() {} };
