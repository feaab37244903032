import { closeSync, openSync, writeSync } from 'node:fs';
import type { TraceSink } from '@mm/core';
import { CliError } from './cli-error.js';

/**
 * A trace written to a file as it is recorded, in chunks (so a run that fails midway leaves the
 * lines up to the failure, the failing operation included).
 *
 * @module
 */

/** A file sink: `sink` for `recordOperations`, `close` to flush and close. */
export interface TraceFile {
  /** Append one line. */
  readonly sink: TraceSink;
  /** Flush and close the file; returns the number of lines written. */
  close(): number;
}

/** Open `path` for writing a trace (`CliError` if it cannot be created). */
export function openTraceFile(path: string): TraceFile {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    throw new CliError(`cannot write trace ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let buf: string[] = [];
  let lines = 0;
  const flush = (): void => {
    if (buf.length === 0) return;
    writeSync(fd, `${buf.join('\n')}\n`);
    buf = [];
  };
  return {
    sink: (line) => {
      buf.push(line);
      lines++;
      if (buf.length >= 16384) flush();
    },
    close: () => {
      flush();
      closeSync(fd);
      return lines;
    },
  };
}
