/**
 * The build of the pages that the login server serves (server/web): one
 * script and one stylesheet, made from src/web/main.ts and the desktop
 * app's own screens and styles, written to server/web/static/, which the
 * Go server embeds as it is (so that it builds without npm). With them goes
 * sources.txt, the SHA-256 of every file the build read, which a Go test
 * (server/web) checks so that committed output never lags its sources.
 *
 *   npm run build:web
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { defineConfig, type Plugin } from "vite";

const frontend = import.meta.dirname;
const repo = resolve(frontend, "..");
const publicDir = join(frontend, "src/web/public");

/** sourcesManifest emits sources.txt: "sha256  path" for each input, paths from the repository's root. */
function sourcesManifest(): Plugin {
  return {
    name: "qrlogin-sources-manifest",
    generateBundle() {
      const files = new Set<string>([
        join(frontend, "vite.web.config.ts"),
        join(frontend, "package-lock.json"),
        ...readdirSync(publicDir).map((f) => join(publicDir, f)),
      ]);
      for (const id of this.getModuleIds()) {
        const file = id.split("?")[0];
        if (file.startsWith(frontend) && !file.includes("/node_modules/")) files.add(file);
      }
      const lines = [...files]
        .map((f) => relative(repo, f))
        .sort()
        .map((f) => `${createHash("sha256").update(readFileSync(join(repo, f))).digest("hex")}  ${f}`);
      this.emitFile({ type: "asset", fileName: "sources.txt", source: lines.join("\n") + "\n" });
    },
  };
}

export default defineConfig({
  publicDir,
  plugins: [sourcesManifest()],
  build: {
    outDir: resolve(repo, "server/web/static"),
    emptyOutDir: true,
    // Browsers of the last few years: the pages use ES2022 and CSS nesting-free styles.
    target: "es2022",
    modulePreload: false,
    cssCodeSplit: false,
    rollupOptions: {
      input: join(frontend, "src/web/main.ts"),
      output: {
        entryFileNames: "web.js",
        assetFileNames: "web[extname]",
      },
    },
  },
});
