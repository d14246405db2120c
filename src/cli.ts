#!/usr/bin/env node
import { Command, Option } from 'commander';
import { loadConfig, type ConfigOverrides } from './config.js';
import { describeError, isVidtraceError } from './errors.js';
import { Library, type AlignerName } from './library/library.js';
import { indexProgressReporter, reindexProgressReporter } from './cli/progress.js';
import { reindexLibrary } from './library/reindex.js';
import { formatReportText, roundReport } from './report/match-report.js';

interface GlobalOptions {
  store?: string;
  fps?: string;
  model?: string;
}

function overrides(opts: GlobalOptions): ConfigOverrides {
  return { storeDir: opts.store, sampleFps: opts.fps === undefined ? undefined : Number(opts.fps), modelId: opts.model };
}

async function withLibrary<T>(cmd: Command, fn: (library: Library) => Promise<T>): Promise<T> {
  const config = loadConfig(overrides(cmd.optsWithGlobals<GlobalOptions>()));
  const library = await Library.open(config);
  if (library.repaired.rebuilt || library.repaired.added > 0) {
    process.stderr.write(
      `store repaired: ${library.repaired.rebuilt ? 'index rebuilt from the database' : `${library.repaired.added} keyframe(s) re-added to the index`}\n`,
    );
  }
  try {
    return await fn(library);
  } finally {
    await library.close();
  }
}

export function buildCli(): Command {
  const program = new Command('vidtrace')
    .description('Find where a video was copied from.')
    .addOption(new Option('--store <dir>', 'library folder (database, index, thumbnails)').env('VIDTRACE_STORE'))
    .addOption(new Option('--fps <n>', 'frames sampled per second').env('VIDTRACE_FPS'))
    .addOption(new Option('--model <id>', 'frame encoder id (models/models.json)').env('VIDTRACE_MODEL'))
    .showHelpAfterError();

  program
    .command('index')
    .description('index video files and folders (recursively) into the library')
    .argument('<paths...>', 'files or folders')
    .option('--strict', 'exit non-zero when any file fails')
    .action(async (paths: string[], opts: { strict?: boolean }, cmd: Command) => {
      await withLibrary(cmd, async (library) => {
        const progress = indexProgressReporter();
        const summary = await library.indexPaths(paths, progress.onEvent).finally(() => progress.stop());
        process.stderr.write(`indexed ${summary.indexed}, already present ${summary.duplicates}, failed ${summary.failed.length}\n`);
        const nothingWorked = summary.indexed + summary.duplicates === 0 && summary.failed.length > 0;
        if (nothingWorked || (opts.strict && summary.failed.length > 0)) process.exitCode = 1;
      });
    });

  program
    .command('match')
    .description('find which library videos a query copies, and which seconds')
    .argument('<query>', 'query video file')
    .option('--json', 'print the JSON report')
    .option('--threshold <score>', 'copy decision threshold (default: tuned value)')
    .addOption(new Option('--aligner <name>', 'how copied segments are located in the similarity matrix (default: spd, the learned detector, when it was trained for the library\'s encoder; else tn)').choices(['tn', 'dp', 'spd']))
    .action(async (query: string, opts: { json?: boolean; threshold?: string; aligner?: AlignerName }, cmd: Command) => {
      await withLibrary(cmd, async (library) => {
        const report = roundReport(
          await library.match(query, {
            aligner: opts.aligner,
            ...(opts.threshold === undefined ? {} : { threshold: Number(opts.threshold) }),
          }),
        );
        process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatReportText(report) + '\n');
      });
    });

  program
    .command('reindex')
    .description('re-embed every keyframe with the encoder given by --model (resumable), then rebuild the index')
    .action(async (_opts: unknown, cmd: Command) => {
      const config = loadConfig(overrides(cmd.optsWithGlobals<GlobalOptions>()));
      const progress = reindexProgressReporter();
      const summary = await reindexLibrary(config, progress.onEvent).finally(() => progress.stop());
      if (summary.from === summary.to) process.stderr.write(`the library already uses ${summary.to}\n`);
      else if (summary.switched) process.stderr.write(`re-embedded ${summary.reembedded} video(s); the library now uses ${summary.to}\n`);
      else {
        process.stderr.write(
          `re-embedded ${summary.reembedded} video(s); ${summary.failed.length} failed, so the library still uses ${summary.from}: ` +
            `restore or remove those videos and run reindex again (finished videos are kept)\n`,
        );
        process.exitCode = 1;
      }
    });

  program
    .command('list')
    .description('list the videos of the library')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withLibrary(cmd, async (library) => {
        const videos = await library.list();
        if (opts.json) process.stdout.write(JSON.stringify(videos, null, 2) + '\n');
        else for (const v of videos) process.stdout.write(`${v.id}\t${v.duration.toFixed(1)}s\t${v.keyframeCount}\t${v.path}\n`);
      });
    });

  program
    .command('remove')
    .description('remove a video (its keyframes and vectors) from the library')
    .argument('<id>', 'video id (see `vidtrace list`)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withLibrary(cmd, async (library) => {
        const video = await library.remove(id);
        process.stderr.write(`removed ${video.id} ${video.path}\n`);
      });
    });

  program
    .command('stats')
    .description('library size and model')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withLibrary(cmd, async (library) => {
        const stats = await library.stats();
        if (opts.json) process.stdout.write(JSON.stringify(stats, null, 2) + '\n');
        else
          process.stdout.write(
            `${stats.videos} videos, ${stats.seconds.toFixed(1)} s, ${stats.keyframes} keyframes, index ${stats.indexBytes} bytes, model ${stats.model} (${stats.database})\n`,
          );
      });
    });

  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    process.stderr.write(`error: ${describeError(e)}\n`);
    if (!isVidtraceError(e) && process.env.VIDTRACE_DEBUG) console.error(e);
    process.exitCode = 1;
  }
}

await main();
