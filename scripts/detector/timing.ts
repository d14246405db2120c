/**
 * Time per pair of the SPD detector against the classical aligners on one matrix, interleaved
 * (run k of every aligner before run k+1 of any: load from other processes hits all of them alike),
 * median and fastest run. Besides the whole detector (`spd`: what `vidtrace match` calls), its
 * onnxruntime call on its own (`spd: onnxruntime`: session.run on the matrix and its size, channels
 * built in the graph, a second session with the same threads); the JS side (input copy when padding
 * is needed, decoding above minScore, NMS, calibration, frame segments) is `spd` minus that.
 * Used by scripts/detector/tune.ts (model card) and bench/spd-speed.ts.
 */
import type { Aligner } from '../../src/match/aligner.js';
import type { Matrix } from '../../src/match/similarity.js';
import { copyWindow } from '../../src/detect/channels.js';
import { inputPad, spdModelPath } from '../../src/detect/meta.js';
import type { SpdDetector } from '../../src/detect/spd-detector.js';
import { planWindows } from '../../src/detect/tiling.js';
import { createOnnxRunner, floatTensor } from '../../src/embed/onnx.js';

export interface TimingRow {
  name: string;
  /** Median ms per pair. */
  ms: number;
  /** Fastest run. */
  min: number;
  /** Segments at or above the aligner's threshold (aligners only). */
  segments?: number;
}

export interface SpdTiming {
  rows: number;
  cols: number;
  repeats: number;
  threads: number;
  table: TimingRow[];
  /** DP median / SPD median. */
  dpOverSpd: number;
  /** DP fastest / SPD fastest. */
  dpOverSpdFastest: number;
}

/**
 * Milliseconds of each run, `warmup` untimed calls of each first, then `repeats` rounds interleaved (round k
 * of every run before round k+1 of any: load from other processes hits all of them alike). The order
 * rotates from round to round (round k starts with run k mod n), so that no run always follows the same
 * other one: a run that always came right after the most allocating one (DP) paid for its garbage
 * collection in every round.
 */
export async function interleavedTimes(runs: readonly (() => Promise<unknown>)[], repeats: number, warmup = 1): Promise<number[][]> {
  for (const run of runs) for (let k = 0; k < warmup; k++) await run();
  const times = runs.map(() => [] as number[]);
  for (let k = 0; k < repeats; k++) {
    for (let j = 0; j < runs.length; j++) {
      const i = (k + j) % runs.length;
      const t = performance.now();
      await runs[i]();
      times[i].push(performance.now() - t);
    }
  }
  return times;
}

/** The middle value (the upper one of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function timeAligners(
  sim: Matrix,
  modelsDir: string,
  spd: SpdDetector,
  threads: number,
  classical: Aligner[],
  repeats = 41,
  extra: { name: string; aligner: Aligner }[] = [],
): Promise<SpdTiming> {
  const { meta } = spd;
  const plan = planWindows(sim.rows, sim.cols, meta.stride, spd.options.maxCells, spd.options.tile, spd.options.tileStride);
  const { height, width } = plan;
  const n = plan.origins.length;
  const input = new Float32Array(n * height * width);
  plan.origins.forEach((o, k) => copyWindow(sim, o.row, o.col, height, width, input, k * height * width, inputPad(meta)));
  const valid = Float32Array.from(plan.origins.flatMap((o) => [Math.min(height, sim.rows - o.row), Math.min(width, sim.cols - o.col)]));
  const session = await createOnnxRunner(spdModelPath(modelsDir), threads);
  const runs: { name: string; run: () => Promise<unknown>; aligner?: Aligner }[] = [
    { name: 'spd', run: () => spd.align(sim), aligner: spd },
    {
      name: 'spd: onnxruntime',
      run: async () => {
        const out = await session.run({ [meta.input.name]: floatTensor(input, [n, 1, height, width]), [meta.input.valid]: floatTensor(valid, [n, 2]) });
        out[meta.output.name].dispose?.();
      },
    },
    ...extra.map((e) => ({ name: e.name, run: () => e.aligner.align(sim), aligner: e.aligner })),
    ...classical.map((a) => ({ name: a.name, run: () => a.align(sim), aligner: a })),
  ];
  const times = await interleavedTimes(runs.map((r) => r.run), repeats);
  await session.release();
  const table: TimingRow[] = [];
  for (const [i, r] of runs.entries()) {
    const row: TimingRow = { name: r.name, ms: median(times[i]), min: Math.min(...times[i]) };
    if (r.aligner) row.segments = (await r.aligner.align(sim)).filter((s) => s.score >= r.aligner!.threshold).length;
    table.push(row);
  }
  const get = (name: string) => table.find((x) => x.name === name)!;
  const dp = table.find((x) => x.name === 'dp');
  return {
    rows: sim.rows,
    cols: sim.cols,
    repeats,
    threads,
    table,
    dpOverSpd: dp ? dp.ms / get('spd').ms : NaN,
    dpOverSpdFastest: dp ? dp.min / get('spd').min : NaN,
  };
}

export function formatTiming(t: SpdTiming): string {
  const lines = [
    `${t.rows}x${t.cols} matrix, median of ${t.repeats} interleaved runs, onnxruntime threads ${t.threads}`,
    'aligner               ms/pair (median)  (fastest)  segments>=threshold',
    ...t.table.map((x) => `${x.name.padEnd(22)}${x.ms.toFixed(3).padStart(9)}      ${x.min.toFixed(3).padStart(9)}  ${x.segments === undefined ? '' : String(x.segments).padStart(6)}`),
    `DP/SPD ratio: ${t.dpOverSpd.toFixed(1)}x (medians), ${t.dpOverSpdFastest.toFixed(1)}x (fastest runs); SPD outside onnxruntime: ${(t.table.find((x) => x.name === 'spd')!.ms - (t.table.find((x) => x.name === 'spd: onnxruntime')?.ms ?? 0)).toFixed(3)} ms`,
  ];
  return lines.join('\n');
}
