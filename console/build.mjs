// Bundles the console into one directory that `mlvault server --console-dir` serves:
// index.html, app.js, app.css. No CDN and no inline script or style (the server's CSP forbids them).
//   node build.mjs <out-dir>
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, "..", "build", "console", "dist");
mkdirSync(out, { recursive: true });
await build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.ts", "app-style": "src/app.css" },
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ["chrome110", "firefox115", "safari17"],
  outdir: out,
  entryNames: "[name]",
  logLevel: "warning",
  legalComments: "none",
});
// esbuild names the CSS of the entry "app-style" app-style.css; index.html links app.css.
const { renameSync } = await import("node:fs");
renameSync(join(out, "app-style.css"), join(out, "app.css"));
copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));
console.log(`console bundle written to ${out}`);
