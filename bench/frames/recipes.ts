/**
 * Reads datasets/recipes.json (the dataset generator's edit recipes) and resolves a recipe of a
 * family into concrete ffmpeg filter chains with seeded parameters, for single frames.
 *
 * Frame-level differences from the generator (documented in docs/frame-features.md):
 * - `fps` and `speed` steps only change timing, so at frame level they are the identity and are
 *   dropped (the fps/speed families are not benchmarked; in combos their step is skipped);
 * - the generator's final x264 crf 23 normalisation encode is not applied (only the lossy
 *   `encode` recipes encode).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Rng } from '../../datasets/rng.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');

type ParamSpec = [number, number] | { int: [number, number] } | { choice: Array<number | string> };

interface RecipeJson {
  id: string;
  family: string;
  vf?: string;
  fallbackVf?: string;
  needsFont?: boolean;
  encode?: { codec: string; bitrateK?: string; qscale?: string };
  pip?: { scale: string; x: string; y: string };
  speed?: string;
  params?: Record<string, ParamSpec>;
  steps?: string[];
}

interface RecipesFile {
  font: string;
  recipes: RecipeJson[];
}

export interface ResolvedEdit {
  recipe: string;
  family: string;
  /** Filter chain applied to the frame fitted in 640x360 (may be empty). */
  vf: string[];
  encode?: { codec: 'libx264' | 'mpeg4'; bitrateK?: number; qscale?: number };
  pip?: { scale: number; x: number; y: number };
  params: Record<string, number | string>;
}

export { Rng } from '../../datasets/rng.js';

const recipesFile = JSON.parse(readFileSync(path.join(REPO_ROOT, 'datasets', 'recipes.json'), 'utf8')) as RecipesFile;
const byId = new Map(recipesFile.recipes.map((r) => [r.id, r]));
let fontOk: boolean | undefined;
function fontAvailable(): boolean {
  if (fontOk === undefined) {
    try {
      readFileSync(recipesFile.font);
      fontOk = true;
    } catch {
      fontOk = false;
    }
  }
  return fontOk;
}

/** Families benchmarked at frame level, in table order (`plain` is the sanity row). */
export const FAMILIES = ['plain', 'crop', 'flip', 'color', 'text', 'logo', 'letterbox', 'pip', 'blur', 'noise', 'gray', 'rotate', 'reencode', 'combo'] as const;
export type Family = (typeof FAMILIES)[number];
/** Families whose recall@1 is averaged for "mean recall@1" (every edit family, not plain). */
export const EDIT_FAMILIES: readonly Family[] = FAMILIES.filter((f) => f !== 'plain');

const TEMPORAL = new Set(['fps', 'speed']);

export function recipesOf(family: string): string[] {
  return recipesFile.recipes.filter((r) => r.family === family).map((r) => r.id);
}

function fmt(v: number | string): string {
  return typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v;
}

function draw(spec: ParamSpec, rng: Rng): number | string {
  if (Array.isArray(spec)) return rng.uniform(spec[0], spec[1]);
  if ('int' in spec) return rng.int(spec.int[0], spec.int[1]);
  return rng.pick(spec.choice);
}

function fill(template: string, vars: Record<string, number | string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, k: string) => {
    if (k === 'font') return recipesFile.font;
    const v = vars[k];
    if (v === undefined) throw new Error(`recipe template uses {${k}} without a value`);
    return fmt(v);
  });
}

function resolveStep(r: RecipeJson, rng: Rng, out: ResolvedEdit): void {
  const vars: Record<string, number | string> = {};
  for (const [k, spec] of Object.entries(r.params ?? {})) vars[k] = draw(spec, rng);
  for (const [k, v] of Object.entries(vars)) out.params[`${r.id}.${k}`] = v;
  if (TEMPORAL.has(r.family)) return; // identity at frame level
  const vf = r.needsFont && !fontAvailable() ? r.fallbackVf : r.vf;
  if (vf && vf !== 'null') out.vf.push(fill(vf, vars));
  if (r.encode) {
    out.encode =
      r.encode.codec === 'mpeg4'
        ? { codec: 'mpeg4', qscale: Number(fill(r.encode.qscale ?? '20', vars)) }
        : { codec: 'libx264', bitrateK: Number(fill(r.encode.bitrateK ?? '100', vars)) };
  }
  if (r.pip) out.pip = { scale: Number(fill(r.pip.scale, vars)), x: Number(fill(r.pip.x, vars)), y: Number(fill(r.pip.y, vars)) };
}

/** Picks a recipe of `family` (uniformly) and draws its parameters, all from `rng`. */
export function resolveEdit(family: Family, rng: Rng): ResolvedEdit {
  const ids = recipesOf(family);
  if (ids.length === 0) throw new Error(`no recipes for family ${family}`);
  const r = byId.get(rng.pick(ids)) as RecipeJson;
  const out: ResolvedEdit = { recipe: r.id, family, vf: [], params: {} };
  if (r.steps) {
    for (const s of r.steps) resolveStep(byId.get(s) as RecipeJson, rng, out);
  } else resolveStep(r, rng, out);
  return out;
}

export function encodeArgs(e: NonNullable<ResolvedEdit['encode']>): string[] {
  if (e.codec === 'mpeg4') return ['-c:v', 'mpeg4', '-q:v', String(e.qscale ?? 20)];
  const br = e.bitrateK ?? 100;
  return ['-c:v', 'libx264', '-preset', 'veryfast', '-b:v', `${br}k`, '-maxrate', `${br}k`, '-bufsize', `${2 * br}k`, '-pix_fmt', 'yuv420p'];
}
