import { Presets, SingleBar } from 'cli-progress';
import type { CliIo } from './io.js';

/**
 * The progress bar of long runs (`mmsim replay`): drawn with cli-progress on stderr, and only when
 * stderr is a terminal, so that piped or captured output never contains it.
 *
 * @module
 */

/** A progress bar, or a no-op when stderr is not a terminal. */
export interface Progress {
  /** Set the amount done. */
  update(done: number): void;
  /** Finish the bar (draws it full and ends its line). */
  stop(): void;
}

const NONE: Progress = { update() {}, stop() {} };

/** Start a bar of `total` units labelled `label` on `io.stderr` if it is a terminal and `enabled`. */
export function startProgress(io: CliIo, label: string, total: number, enabled = true): Progress {
  if (!enabled || io.stderr.isTTY !== true || total <= 0) return NONE;
  const bar = new SingleBar(
    {
      stream: io.stderr as NodeJS.WritableStream,
      format: `${label} [{bar}] {percentage}% | {value}/{total}`,
      hideCursor: true,
      gracefulExit: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => {
      bar.update(total);
      bar.stop();
    },
  };
}
