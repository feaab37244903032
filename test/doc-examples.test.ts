import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One ```ts block under an `@example` tag of a doc comment. */
interface DocExample {
  /** `packages/<pkg>/src/<file>.ts:<line of the @example tag>`. */
  readonly where: string;
  /** Line of the fence's first code line in the source file (1-based). */
  readonly codeLine: number;
  /** The exported declaration the comment documents (empty for a module comment). */
  readonly symbol: string;
  /** The snippet. */
  readonly code: string;
}

/** Every `@example` block (```ts fenced) in the doc comments of `packages/<pkg>/src/**.ts`. */
function docExamples(): DocExample[] {
  const out: DocExample[] = [];
  for (const pkg of readdirSync(join(root, 'packages')).sort()) {
    const src = join(root, 'packages', pkg, 'src');
    let files: string[];
    try {
      files = readdirSync(src, { recursive: true, encoding: 'utf8' });
    } catch {
      continue;
    }
    for (const rel of files.filter((f) => f.endsWith('.ts')).sort()) {
      const text = readFileSync(join(src, rel), 'utf8');
      for (const c of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
        const first = text.slice(0, c.index).split('\n').length;
        const decl = /^\s*export (?:async )?(?:function|interface|class|const|type) (\w+)/.exec(text.slice(c.index + c[0].length + 1).split('\n')[0]!);
        const lines = c[0].split('\n').map((l) => l.replace(/^\s*\/?\*+\/?\s?/, ''));
        for (let i = 0; i < lines.length; i++) {
          if (!/^@example\b/.test(lines[i]!)) continue;
          const open = lines.findIndex((l, j) => j > i && /^```ts\s*$/.test(l));
          const close = lines.findIndex((l, j) => j > open && /^```\s*$/.test(l));
          const nextTag = lines.findIndex((l, j) => j > i && /^@\w/.test(l));
          const where = `packages/${pkg}/src/${rel}:${first + i}`;
          if (open < 0 || close < 0 || (nextTag >= 0 && nextTag < open)) throw new Error(`${where}: @example without a \`\`\`ts block`);
          out.push({ where, codeLine: first + open + 1, symbol: decl?.[1] ?? '', code: lines.slice(open + 1, close).join('\n') + '\n' });
        }
      }
    }
  }
  return out;
}

/**
 * Runs example modules one after the other in one process (the packages load once) and writes, for
 * each, null or the error it threw, to the JSON file named by its first argument.
 */
const RUNNER = `import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [out, ...files] = process.argv.slice(2);
const results = {};
for (const file of files) {
  try {
    await import(pathToFileURL(file).href);
    results[file] = null;
  } catch (e) {
    results[file] = String(e && e.stack || e).split('\\n').slice(0, 6).join('\\n');
  }
}
writeFileSync(out, JSON.stringify(results));
`;

/**
 * Run `files` as test/examples.test.ts runs the examples (node, tsx, the `@mm/source` condition), in
 * one process; resolves with the exit status, stderr and each file's error (null if it ran).
 */
function run(files: string[], out: string): Promise<{ status: number; stderr: string; errors: Record<string, string | null> }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@mm/source', '--import', 'tsx', join(dir, 'runner.mjs'), out, ...files],
      { cwd: root, env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.test.json') }, timeout: 120_000, maxBuffer: 64 << 20 },
      (err, _stdout, stderr) => {
        let errors: Record<string, string | null> = {};
        try {
          errors = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string | null>;
        } catch {
          // the process died before writing its results: reported through its status
        }
        resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stderr, errors });
      },
    );
  });
}

const examples = docExamples();
let dir = '';
const fileOf = (i: number): string => join(dir, `example-${i}.ts`);

describe('@example blocks of the doc comments', () => {
  beforeAll(() => {
    // Inside the workspace, so that '@mm/*' resolve through the root node_modules.
    mkdirSync(join(root, 'test-artifacts'), { recursive: true });
    dir = mkdtempSync(join(root, 'test-artifacts', 'doc-examples-'));
    examples.forEach((e, i) => writeFileSync(fileOf(i), e.code));
    writeFileSync(join(dir, 'runner.mjs'), RUNNER);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the main entry points of every package carry examples', () => {
    const documented = new Set(examples.map((e) => `${e.where.split('/')[1]}:${e.symbol}`));
    const entryPoints = [
      ...['createMachine', 'folio_put', 'alloc_pages', '__free_pages', 'folio_alloc', 'compact_memory', 'migrate_pages', 'set_movable_ops', 'folio_set_owner_ops'].map((s) => `core:${s}`),
      'hugetlb:hugetlbPlugin',
      'hugetlb:set_max_huge_pages',
      'zone-device:memremap_pages',
      'guest-memfd:kvm_gmem_create',
      'guest-memfd:kvm_gmem_set_attributes',
      'balloon:balloon_devinfo_init',
      'zsmalloc:zs_create_pool',
      'procfs:writeSnapshot',
      'explore:explore',
      'cli:main',
    ];
    expect(entryPoints.filter((e) => !documented.has(e))).toEqual([]);
  });

  it('every example type-checks as a user file importing the packages by name', () => {
    const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d: ts.Diagnostic) => void d };
    const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.test.json'), {}, host)!;
    const program = ts.createProgram(
      examples.map((_, i) => fileOf(i)),
      { ...config.options, noEmit: true },
    );
    const problems: string[] = [];
    examples.forEach((e, i) => {
      const sf = program.getSourceFile(fileOf(i))!;
      for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) {
        const line = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line;
        problems.push(`${e.where} (source line ${e.codeLine + line}): ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
      }
    });
    expect(problems).toEqual([]);
  });

  it('every example runs to the end without throwing, and the processes running them exit 0', async () => {
    // Two processes, each importing its share of the examples in turn (a process per example would
    // load the packages through tsx 25 times over).
    const shares = [0, 1].map((k) => examples.map((_, i) => i).filter((i) => i % 2 === k));
    const results = await Promise.all(shares.map((share, k) => run(share.map(fileOf), join(dir, `results-${k}.json`))));
    const failures: string[] = [];
    results.forEach(({ status, stderr, errors }, k) => {
      if (status !== 0) failures.push(`process ${k}: exit ${status}\n${stderr.split('\n').slice(0, 8).join('\n')}`);
      for (const i of shares[k]!) {
        const error = errors[fileOf(i)];
        if (error !== null) failures.push(`${examples[i]!.where}: ${error ?? 'did not run'}`);
      }
    });
    expect(failures).toEqual([]);
  });
});
