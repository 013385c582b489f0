import { Transform } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * Reads a mysqldump/mariadb-dump stream line by line on its way into the archive:
 *  - removes `DEFINER=user@host` from DDL lines, so views (and triggers, routines) restore under
 *    the restoring account into any database, not only for the account and host that made them;
 *  - counts the rows of each table's INSERTs and notices when a new table starts, for progress
 *    and the summary.
 * Data lines (INSERTs and their value lines) pass through untouched: only lines that begin with
 * a DDL form are rewritten, and a dump writes every row of an INSERT without raw newlines.
 */
export class DumpInspector extends Transform {
  readonly rowsByTable = new Map<string, number>();
  tablesSeen = 0;
  completed = false;
  private partial = '';
  // A chunk may end inside a multi-byte character: the decoder holds it back until the rest arrives.
  private readonly decoder = new StringDecoder('utf8');
  private currentTable: string | null = null;
  private tuples: TupleCounter | null = null;

  constructor(private readonly onTable: (done: number, name: string) => void = () => {}) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: string) => void): void {
    const text = this.partial + this.decoder.write(chunk);
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline < 0) {
      this.partial = text;
      return callback();
    }
    this.partial = text.slice(lastNewline + 1);
    const lines = text.slice(0, lastNewline).split('\n');
    callback(null, lines.map((line) => this.line(line)).join('\n') + '\n');
  }

  override _flush(callback: (error?: Error | null, data?: string) => void): void {
    const rest = this.partial + this.decoder.end();
    callback(null, rest ? this.line(rest) : '');
  }

  private line(line: string): string {
    if (this.tuples) {
      this.count(line);
      return line;
    }
    const structure = /^-- (?:Temporary )?(?:Table|table|view) structure for (?:table|view) `((?:[^`]|``)+)`/.exec(line);
    if (structure) {
      this.currentTable = structure[1]!.replace(/``/g, '`');
      this.tablesSeen++;
      this.onTable(this.tablesSeen, this.currentTable);
      return line;
    }
    const insert = /^INSERT INTO `((?:[^`]|``)+)`[^\n]*? VALUES\s*/.exec(line);
    if (insert) {
      this.currentTable = insert[1]!.replace(/``/g, '`');
      this.tuples = new TupleCounter();
      this.count(line.slice(insert[0].length));
      return line;
    }
    if (/^-- Dump completed/.test(line)) this.completed = true;
    if (/^(\/\*!\d+|CREATE\b)/.test(line)) return line.replace(/\s*DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*`/g, '');
    return line;
  }

  private count(text: string): void {
    const { rows, finished } = this.tuples!.feed(text);
    const table = this.currentTable ?? '';
    this.rowsByTable.set(table, (this.rowsByTable.get(table) ?? 0) + rows);
    if (finished) this.tuples = null;
  }

  get rows(): number {
    let total = 0;
    for (const n of this.rowsByTable.values()) total += n;
    return total;
  }
}

/** Counts the top-level `( ... )` tuples of an INSERT's VALUES list, skipping quoted strings. */
export class TupleCounter {
  private depth = 0;
  private quote: string | null = null;
  private escaped = false;

  feed(text: string): { rows: number; finished: boolean } {
    let rows = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.quote) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === this.quote) this.quote = null;
      } else if (c === "'" || c === '"') this.quote = c;
      else if (c === '(') {
        if (this.depth === 0) rows++;
        this.depth++;
      } else if (c === ')') this.depth--;
      else if (c === ';' && this.depth === 0) return { rows, finished: true };
    }
    return { rows, finished: false };
  }
}
