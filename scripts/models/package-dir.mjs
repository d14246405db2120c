// Locates an installed npm package's folder. Some packages (nsfwjs) hide package.json behind their
// "exports" map, so this walks up from the package's main entry.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export function findPackageDir(name) {
  let dir = dirname(require.resolve(name));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && JSON.parse(readFileSync(pj, 'utf8')).name === name) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot locate package.json of ${name}`);
    dir = up;
  }
}
