/**
 * `@mm/cli`: the `mmsim` command — boot a simulated machine, run scenarios, write `/proc` and `/sys`
 * snapshots, print meminfo/buddyinfo/vmstat, record and replay traces, and import kernel
 * page-allocator traces (`kmem:mm_page_alloc`, `mm_page_free`, `mm_page_free_batched` from ftrace,
 * trace-cmd report or perf script) — and the library functions behind it, callable in-process.
 *
 * @packageDocumentation
 */

export { main, EXIT_BAD_INPUT, EXIT_INTERNAL } from './main.js';
export { processIo, type CliIo, type CliWriter } from './io.js';
export { CliError } from './cli-error.js';
export { PLUGIN_PACKAGES, loadPluginFactories, pluginResolver, type PluginFactory } from './plugins.js';
export { applyMachineFlags, bootMachine, parsePluginOptions, type BootedMachine, type MachineFlags, type MachineSpec } from './machine-spec.js';
export {
  checkJsonScenario,
  jsonScenario,
  loadScenario,
  runScenario,
  type JsonScenario,
  type JsonScenarioOp,
  type LoadedScenario,
  type Scenario,
  type ScenarioRun,
} from './scenario.js';
export { openTraceFile, type TraceFile } from './trace-file.js';
export {
  parseKernelTrace,
  KT_ALLOC,
  KT_ALLOC_FAILED,
  KT_FREE,
  KT_FREE_BATCHED,
  type KernelTraceEvents,
  type KernelTraceFormat,
  type LostEvents,
  type MalformedLine,
  type OtherEvent,
  type ParsedKernelTrace,
} from './kernel-trace/parse-kernel-trace.js';
export {
  importKernelTrace,
  type KernelTraceImport,
  type KernelTraceImportOptions,
  type KernelTraceReport,
  type TraceConflict,
} from './kernel-trace/import-kernel-trace.js';
export { kernelTraceReportText } from './commands/replay.js';
