/**
 * Splits a MySQL dump into statements as the mysql client does: at the delimiter (`;`, or what a
 * `DELIMITER` line sets, as mysqldump does around triggers and routines) outside quoted strings,
 * identifiers and comments. `--` and `#` comments are dropped; `/* ... *\/` comments stay in the
 * statement, because `/*!40101 ... *\/` is code the server runs. Fed line by line, so a large dump
 * is never held in memory.
 */
export class SqlSplitter {
  private delimiter = ';';
  private statement = '';
  /** Something besides whitespace and plain comments is in the statement. */
  private hasCode = false;
  private quote: string | null = null;
  private inBlockComment = false;
  private blockCommentIsCode = false;

  /** Feeds one line (without its newline); returns the statements it completed. */
  line(line: string): string[] {
    const done: string[] = [];
    if (!this.quote && !this.inBlockComment && !this.statement.trim()) {
      const delimiter = /^\s*DELIMITER\s+(\S+)\s*$/i.exec(line);
      if (delimiter) {
        this.delimiter = delimiter[1]!;
        this.statement = '';
        return done;
      }
    }
    let i = 0;
    while (i < line.length) {
      const c = line[i]!;
      if (this.inBlockComment) {
        const end = line.indexOf('*/', i);
        const stop = end < 0 ? line.length : end + 2;
        this.statement += line.slice(i, stop);
        if (end >= 0) this.inBlockComment = false;
        i = stop;
        continue;
      }
      if (this.quote) {
        this.statement += c;
        if (c === '\\' && this.quote !== '`' && i + 1 < line.length) {
          this.statement += line[i + 1];
          i += 2;
          continue;
        }
        if (c === this.quote) this.quote = null;
        i++;
        continue;
      }
      if (line.startsWith(this.delimiter, i)) {
        if (this.hasCode) done.push(this.statement.trim());
        this.statement = '';
        this.hasCode = false;
        i += this.delimiter.length;
        continue;
      }
      if (c === '#' || (c === '-' && line[i + 1] === '-' && (i + 2 === line.length || /\s/.test(line[i + 2]!)))) break;
      if (c === '/' && line[i + 1] === '*') {
        this.inBlockComment = true;
        this.blockCommentIsCode = line[i + 2] === '!' || (line[i + 2] === 'M' && line[i + 3] === '!');
        if (this.blockCommentIsCode) this.hasCode = true;
        this.statement += '/*';
        i += 2;
        continue;
      }
      if (c === "'" || c === '"' || c === '`') this.quote = c;
      if (!/\s/.test(c)) this.hasCode = true;
      this.statement += c;
      i++;
    }
    // A newline inside a string is part of its value; elsewhere it separates tokens.
    if (this.statement) this.statement += '\n';
    return done;
  }

  /** What is left at the end: a statement without its delimiter (the client runs it too). */
  end(): string[] {
    const rest = this.statement.trim();
    this.statement = '';
    return this.hasCode && rest ? [rest] : [];
  }
}
