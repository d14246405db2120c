import cliProgress from 'cli-progress';
import path from 'node:path';
import type { IndexEvent } from '../library/library.js';
import type { ReindexEvent } from '../library/reindex.js';
import { describeError } from '../errors.js';

/** Index progress: a bar on a TTY, one plain line per file otherwise. Always on stderr. */
export function indexProgressReporter(stream: NodeJS.WriteStream = process.stderr): { onEvent: (e: IndexEvent) => void; stop: () => void } {
  const tty = Boolean(stream.isTTY);
  let bar: cliProgress.SingleBar | undefined;
  let total = 0;
  let position = 0;
  const line = (text: string) => {
    if (bar) bar.stop();
    stream.write(text + '\n');
    if (bar) bar.start(total, position, { file: '' });
  };
  return {
    onEvent(e) {
      switch (e.kind) {
        case 'start':
          total = e.total;
          if (tty && total > 0) {
            bar = new cliProgress.SingleBar(
              { format: 'indexing [{bar}] {value}/{total} files  {file}', stream, hideCursor: true, clearOnComplete: false },
              cliProgress.Presets.shades_classic,
            );
            bar.start(total, 0, { file: '' });
          } else if (!tty) {
            stream.write(`indexing ${total} file(s)\n`);
          }
          break;
        case 'file':
          position = e.position;
          bar?.update(e.position + 0, { file: path.basename(e.path) });
          break;
        case 'progress':
          bar?.update(position + e.fraction, { file: path.basename(e.path) });
          break;
        case 'indexed':
          position += 1;
          if (bar) bar.update(position);
          else stream.write(`[${position}/${total}] indexed ${e.path} (${e.video.duration.toFixed(1)} s, ${e.video.keyframeCount} keyframes) id=${e.video.id}\n`);
          break;
        case 'duplicate':
          position += 1;
          if (bar) bar.update(position);
          else stream.write(`[${position}/${total}] already indexed ${e.path} id=${e.video.id}\n`);
          break;
        case 'error':
          line(`error: ${describeError(e.error).startsWith(e.path) ? describeError(e.error) : `${e.path}: ${describeError(e.error)}`}`);
          break;
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Reindex progress: a bar over videos on a TTY, a line per video otherwise. */
export function reindexProgressReporter(stream: NodeJS.WriteStream = process.stderr): { onEvent: (e: ReindexEvent) => void; stop: () => void } {
  const tty = Boolean(stream.isTTY);
  let bar: cliProgress.SingleBar | undefined;
  let position = 0;
  let total = 0;
  return {
    onEvent(e) {
      switch (e.kind) {
        case 'start':
          total = e.pending;
          stream.write(`reindex ${e.from} → ${e.to}: ${e.pending} of ${e.total} video(s) to re-embed\n`);
          if (tty && total > 0) {
            bar = new cliProgress.SingleBar({ format: 'reindexing [{bar}] {value}/{total} videos', stream }, cliProgress.Presets.shades_classic);
            bar.start(total, 0);
          }
          break;
        case 'video':
          position = e.position;
          break;
        case 'progress':
          bar?.update(position + e.fraction);
          break;
        case 'done-video':
          if (bar) bar.update(position + 1);
          else stream.write(`[${position + 1}/${total}] re-embedded ${e.video.path} (${e.keyframes} keyframes)\n`);
          break;
        case 'error':
          bar?.stop();
          stream.write(`error: ${describeError(e.error)}\n`);
          bar?.start(total, position + 1);
          break;
      }
    },
    stop() {
      bar?.stop();
    },
  };
}
