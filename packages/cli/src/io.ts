/**
 * Where `mmsim` writes: the process's streams, or buffers in tests.
 *
 * @module
 */

/** A stream `mmsim` writes text to. */
export interface CliWriter {
  /** Write text. */
  write(text: string): unknown;
  /** True when the stream is a terminal (the progress bar is drawn only then). */
  readonly isTTY?: boolean;
  /** Terminal width, if a terminal. */
  readonly columns?: number;
}

/** The streams and directory a command runs with. */
export interface CliIo {
  /** Results: text or `--json` documents. */
  readonly stdout: CliWriter;
  /** One-line errors and the progress bar. */
  readonly stderr: CliWriter;
  /** The directory relative paths are resolved against (default `process.cwd()`). */
  readonly cwd?: string;
}

/** The process's own streams. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
}
