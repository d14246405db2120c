import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** File endings treated as video when walking folders (explicit file arguments are always tried). */
export const VIDEO_EXTENSIONS = new Set([
  '.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.ogv', '.ogg', '.mpeg', '.mpg', '.ts', '.mts', '.m2ts',
  '.flv', '.wmv', '.3gp', '.264', '.h264', '.265', '.hevc', '.jsv', '.y4m', '.gif',
]);

export interface WalkResult {
  files: string[];
  /** Entries that could not be read: reported, never fatal for the rest of the folder. */
  errors: { path: string; reason: string }[];
}

/** Expands files and folders (recursively, sorted) into the list of video files to index. */
export async function collectVideoFiles(inputs: readonly string[]): Promise<WalkResult> {
  const files: string[] = [];
  const errors: WalkResult['errors'] = [];
  const visit = async (p: string, explicit: boolean): Promise<void> => {
    let info;
    try {
      info = await stat(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      errors.push({ path: p, reason: code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : String(code) });
      return;
    }
    if (info.isDirectory()) {
      let entries;
      try {
        entries = await readdir(p);
      } catch (e) {
        errors.push({ path: p, reason: (e as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (e as Error).message });
        return;
      }
      for (const name of entries.sort()) {
        if (name.startsWith('.')) continue;
        await visit(path.join(p, name), false);
      }
    } else if (explicit || VIDEO_EXTENSIONS.has(path.extname(p).toLowerCase())) {
      files.push(path.resolve(p));
    }
  };
  for (const input of inputs) await visit(input, true);
  return { files, errors };
}
