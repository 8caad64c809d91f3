// Builds the UI into ../dist (git-ignored), which `weir serve` and the `api` Lambda serve under /ui/.
// `base: "./"`: every URL in the build is relative, so the same files work at /ui/ locally and
// under an API Gateway stage (/prod/ui/). All pages live one level below /ui/.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  esbuild: { jsx: "automatic", jsxImportSource: "preact", legalComments: "none" },
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    target: "es2022",
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
    chunkSizeWarningLimit: 300,
    assetsInlineLimit: 0,
  },
});
