#!/usr/bin/env node
// Runs every packages/*/bench/*.bench.ts file, one Node process each, through tsx.
// Usage: pnpm run bench [-- --json] [--filter NAME] [other args passed to each bench file]
// Every argument is passed through to each bench file. With --json, this script writes
// nothing to stdout itself (its own messages go to stderr), so stdout holds only the
// bench files' output.
// tsx applies a tsconfig only to the files it includes, and the solution tsconfig.json
// includes none, so TSX_TSCONFIG_PATH points tsx at tsconfig.test.json (which turns on
// experimentalDecorators for src, test, bench and examples).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2).filter((a) => a !== "--");

function benchFiles() {
  const packagesDir = join(root, "packages");
  if (!existsSync(packagesDir)) return [];
  const files = [];
  for (const pkg of readdirSync(packagesDir).sort()) {
    const benchDir = join(packagesDir, pkg, "bench");
    if (!existsSync(benchDir) || !statSync(benchDir).isDirectory()) continue;
    for (const name of readdirSync(benchDir).sort()) {
      if (name.endsWith(".bench.ts")) files.push(join(benchDir, name));
    }
  }
  return files;
}

const files = benchFiles();
if (files.length === 0) {
  console.error("bench: no packages/*/bench/*.bench.ts files found");
  process.exit(0);
}

const failed = [];
for (const file of files) {
  const rel = relative(root, file);
  console.error(`bench: running ${rel}`);
  const result = spawnSync(
    process.execPath,
    ["--expose-gc", "--conditions=@mm/source", "--import", "tsx", file, ...args],
    {
      cwd: root,
      stdio: "inherit",
      env: { TSX_TSCONFIG_PATH: join(root, "tsconfig.test.json"), ...process.env },
    },
  );
  if (result.error) {
    console.error(`bench: ${rel} could not start: ${result.error.message}`);
    failed.push(rel);
  } else if (result.status !== 0) {
    const why = result.signal ? `signal ${result.signal}` : `exit code ${result.status}`;
    console.error(`bench: ${rel} failed (${why})`);
    failed.push(rel);
  }
}

if (failed.length > 0) {
  console.error(`bench: ${failed.length} of ${files.length} bench file(s) failed: ${failed.join(", ")}`);
  process.exit(1);
}
console.error(`bench: ${files.length} bench file(s) ran`);
