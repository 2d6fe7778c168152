// Bundles Monaco's ESM build for the console into ../static/vendor/monaco/:
//   monaco.js + monaco.css (the editor, the diff editor, JavaScript with its
//   TypeScript language service; exposed as window.monaco), codicon font,
//   editor.worker.js and ts.worker.js (ES modules loaded through
//   MonacoEnvironment.getWorkerUrl). Nothing is fetched from a CDN at run time.
import { readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
// Exports map hides package.json, so locate the package folder directly.
const monacoRoot = join(here, "node_modules", "monaco-editor");
const editorDir = join(monacoRoot, "esm/vs/editor");
const outdir = join(here, "..", "static", "vendor", "monaco");

// Monaco's own editor.main.js minus the languages the console never shows:
// every editor contribution (suggest, hover, find, diff...) stays, and only
// JavaScript (with the TypeScript service that powers its IntelliSense) is kept.
const unused = /languages\/(definitions\/(?!javascript\/)|features\/(css|html|json)\/)|monaco-lsp-client/;
function mainEntry() {
  const lines = readFileSync(join(editorDir, "editor.main.js"), "utf8").split("\n");
  // Only its imports: the public API is assembled below as window.monaco.
  const kept = lines.filter((line) => line.startsWith("import ") && !unused.test(line));
  return [
    ...kept,
    'import * as api from "./editor.api.js";',
    "globalThis.monaco = { ...api, typescript: __src_languages_features_typescript_register_ts };",
  ].join("\n");
}

const common = {
  bundle: true,
  minify: true,
  legalComments: "none",
  target: ["es2022"],
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
};

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const started = Date.now();
await Promise.all([
  esbuild.build({
    ...common,
    stdin: { contents: mainEntry(), resolveDir: editorDir, sourcefile: "monaco-entry.js" },
    outfile: join(outdir, "monaco.js"),
    format: "iife",
    loader: { ".ttf": "file" },
    assetNames: "[name]",
  }),
  esbuild.build({
    ...common,
    entryPoints: {
      "editor.worker": join(editorDir, "editor.worker.js"),
      "ts.worker": join(monacoRoot, "esm/vs/languages/features/typescript/ts.worker.js"),
    },
    outdir,
    format: "esm",
  }),
]);
writeFileSync(join(outdir, "VERSION"), `monaco-editor ${JSON.parse(readFileSync(join(monacoRoot, "package.json"), "utf8")).version}\n`);
console.log(`Monaco bundled into static/vendor/monaco in ${((Date.now() - started) / 1000).toFixed(1)} s`);
