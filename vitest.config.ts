import { defineConfig } from "vitest/config";

export default defineConfig({
  ssr: {
    resolve: {
      // Setting conditions replaces vite's defaults, so they are listed again after ours.
      conditions: ["@mm/source", "module", "node", "development|production"],
    },
  },
  oxc: {
    decorator: { legacy: true, emitDecoratorMetadata: true },
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: ["reflect-metadata"],
    testTimeout: 60000,
  },
});
