import fs from 'node:fs';
import path from 'node:path';

/**
 * The folder holding package.json, where views/, public/, specs/ and migrations/ live. Found by
 * walking up from this file, so it is the same whether the code runs from src/ through tsx or
 * compiled into dist/src/ (one level deeper).
 */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(import.meta.dirname);
