import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { frag_show, isTraceHeader, machineConfigJson, parseTraceHeader, replayTrace, type Machine } from '@mm/core';
import { writeSnapshot } from '@mm/procfs';
import { CliError } from '../cli-error.js';
import { buddyinfoJson, jsonText, machineLine } from '../format.js';
import type { CliIo } from '../io.js';
import { importKernelTrace, type KernelTraceReport } from '../kernel-trace/import-kernel-trace.js';
import { loadPluginFactories, pluginResolver } from '../plugins.js';
import { startProgress } from '../progress.js';

/** Options of `mmsim replay`. */
export interface ReplayFlags {
  /** Kernel traces: RAM of the traced host. */
  readonly memory?: string;
  /** Kernel traces: NUMA nodes. */
  readonly nodes?: number;
  /** Kernel traces: CPUs. */
  readonly cpus?: number;
  /** Kernel traces: the machine's seed. */
  readonly seed?: number;
  /** Check every invariant while replaying. */
  readonly debugVm?: boolean;
  /** Write a snapshot of the final state to this directory. */
  readonly out?: string;
  /** Draw the progress bar (on a terminal). Default true. */
  readonly progress?: boolean;
  /** Print JSON. */
  readonly json?: boolean;
}

/** Up to `max` items of a list as indented lines, and a count of the rest. */
function listed<T>(items: readonly T[], show: (t: T) => string, max = 20): string {
  const lines = items.slice(0, max).map((t) => `  ${show(t)}\n`);
  if (items.length > max) lines.push(`  … and ${items.length - max} more (--json lists them all)\n`);
  return lines.join('');
}

/** The text report of a kernel trace import. */
export function kernelTraceReportText(path: string, r: KernelTraceReport): string {
  const e = r.events;
  const from = r.memoryFrom === 'trace' ? ` (from the traced PFNs, up to 0x${(r.pfnEnd - 1).toString(16)})` : '';
  let out =
    `${path}: kernel trace (${r.format}), ${r.lines} lines\n` +
    `machine: ${r.machine.memory}${from}, ${r.machine.nodes} node(s)\n` +
    `events: mm_page_alloc ${e.mm_page_alloc} (+${e.mm_page_alloc_failed} failed), mm_page_free ${e.mm_page_free}, ` +
    `mm_page_free_batched ${e.mm_page_free_batched} (${r.batched === 'annotation' ? 'each accompanies a traced mm_page_free' : 'read as order-0 frees: the trace has no mm_page_free'})\n` +
    `pages: ${r.pages.allocated} allocated, ${r.pages.freed} freed\n` +
    `pre-trace frees: ${r.preTraceFrees.events} events, ${r.preTraceFrees.pages} pages (allocated before the trace began)\n` +
    `held at the end: ${r.heldAtEnd} pages allocated by the trace\n`;
  if (r.otherEvents.length) out += `other events (not imported):\n${listed(r.otherEvents, (o) => `${o.name}: ${o.count} (first at line ${o.firstLine})`)}`;
  if (r.lost.length) out += `lost events (the trace is incomplete there):\n${listed(r.lost, (l) => `line ${l.line}: ${l.events} events lost`)}`;
  if (r.malformed.length) out += `lines not understood:\n${listed(r.malformed, (l) => `line ${l.line}: ${l.reason}: ${l.text}`)}`;
  if (r.conflicts.length) out += `events the model's state did not allow:\n${listed(r.conflicts, (c) => `line ${c.line}: ${c.message}`)}`;
  return `${out}\nbuddyinfo before:\n${r.buddyinfoBefore}\nbuddyinfo after:\n${r.buddyinfoAfter}`;
}

/** The first line of `bytes` that is not blank (decoded), or `''`. */
function firstNonBlankLine(bytes: Uint8Array): string {
  for (let p = 0; p < bytes.length; ) {
    let e = bytes.indexOf(10, p);
    if (e < 0) e = bytes.length;
    const line = Buffer.from(bytes.buffer, bytes.byteOffset + p, e - p).toString('utf8');
    if (line.trim().length > 0) return line;
    p = e + 1;
  }
  return '';
}

/** The number of lines of `bytes` (a final newline ends the last line). */
function lineCount(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) n++;
  return bytes.length > 0 && bytes[bytes.length - 1] !== 10 ? n + 1 : n;
}

async function snapshotTo(m: Machine, flags: ReplayFlags, io: CliIo): Promise<string> {
  if (flags.out === undefined) return '';
  const s = await writeSnapshot(m, resolve(io.cwd ?? process.cwd(), flags.out));
  return `wrote ${s.files} files (${s.bytes} bytes) to ${flags.out}\n`;
}

/**
 * `mmsim replay <trace>`: replay a trace. A recorded trace (its first line is an mmsim trace header)
 * boots the machine its header describes and re-applies every operation, checking each result
 * (a difference is an error naming the line). Anything else is read as a kernel page-allocator trace
 * (ftrace, trace-cmd report or perf script text) and imported into a machine whose memory covers the
 * traced PFNs, reporting events, pre-trace frees, pages held and buddyinfo before and after.
 */
export async function replayCommand(path: string, flags: ReplayFlags, io: CliIo): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = await readFile(resolve(io.cwd ?? process.cwd(), path));
  } catch (e) {
    throw new CliError(`cannot read trace ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const first = firstNonBlankLine(bytes);
  if (isTraceHeader(first)) {
    for (const f of ['memory', 'nodes', 'cpus', 'seed'] as const) {
      if (flags[f] !== undefined) throw new CliError(`--${f} applies to kernel traces; a recorded trace boots the machine its header describes`);
    }
    const header = parseTraceHeader(first);
    const factories = await loadPluginFactories(header.plugins);
    const bar = startProgress(io, 'replay', flags.progress !== false && io.stderr.isTTY === true ? lineCount(bytes) : 0, true);
    let r;
    try {
      // The file's bytes as read: the replayer parses them in place, without decoding or splitting.
      r = replayTrace(bytes, {
        resolvePlugin: pluginResolver(factories),
        ...(flags.debugVm ? { debugVm: true } : {}),
        onProgress: (n) => bar.update(n),
        progressEvery: 16384,
      });
    } finally {
      bar.stop();
    }
    const snap = await snapshotTo(r.machine, flags, io);
    if (flags.json) {
      io.stdout.write(jsonText({ trace: path, kind: 'recorded', lines: r.lines, operations: r.operations, machine: machineConfigJson(r.machine), plugins: header.plugins, buddyinfo: buddyinfoJson(r.machine) }));
      return;
    }
    io.stdout.write(
      `${path}: recorded trace, ${r.operations} operations replayed, every result as recorded\n` +
        `machine: ${machineLine(r.machine, header.plugins)}\n${snap}\n/proc/buddyinfo:\n${frag_show(r.machine)}`,
    );
    return;
  }
  const lines = bytes.toString('utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const bar = startProgress(io, 'import (%)', 100, flags.progress !== false);
  let imp;
  try {
    imp = importKernelTrace(lines, {
      ...(flags.memory === undefined ? {} : { memory: flags.memory }),
      ...(flags.nodes === undefined ? {} : { nodes: flags.nodes }),
      ...(flags.cpus === undefined ? {} : { cpus: flags.cpus }),
      ...(flags.seed === undefined ? {} : { seed: flags.seed }),
      ...(flags.debugVm ? { debugVm: true } : {}),
      onProgress: (done, total) => bar.update(total === 0 ? 100 : Math.floor((done * 100) / total)),
    });
  } finally {
    bar.stop();
  }
  const snap = await snapshotTo(imp.machine, flags, io);
  if (flags.json) {
    io.stdout.write(jsonText({ trace: path, kind: 'kernel', ...imp.report }));
    return;
  }
  io.stdout.write(kernelTraceReportText(path, imp.report) + (snap ? `\n${snap}` : ''));
}
