/**
 * The build of the phone web app (src/phone/, served at /m/ by
 * server/phone): its page, script, styles, icons, web manifest and service
 * worker, written to server/phone/static/, which the Go server embeds as
 * it is (so that it builds without npm). With them goes sources.txt, the
 * SHA-256 of every file the build read, which a Go test (server/phone)
 * checks so that committed output never lags its sources.
 *
 * The QR decoder's WebAssembly (decoder.wasm and wasm_exec.js) is built
 * apart (make wasm) into the same folder: this build keeps those files and
 * removes only the rest of what an earlier build wrote.
 *
 *   npm run build:phone
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { defineConfig, type Plugin, type ResolvedConfig } from "vite";

const frontend = import.meta.dirname;
const repo = resolve(frontend, "..");
const src = join(frontend, "src/phone");
const publicDir = join(src, "public");

/** BASE is where server/phone serves the app. */
const BASE = "/m/";

/** KEEP are the files of the output folder that another build writes (make wasm). */
const KEEP = new Set(["decoder.wasm", "wasm_exec.js"]);

/** SHELL_PLACEHOLDER is the string of sw.ts that becomes the shell's JSON (sw-cache.ts's Shell). */
const SHELL_PLACEHOLDER = "__QRLOGIN_SHELL__";

/** sha256 is the hex SHA-256 of data. */
const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** keepDecoder empties the output folder before the build but for the decoder's files (KEEP). */
function keepDecoder(): Plugin {
  let outDir = "";
  return {
    name: "qrlogin-phone-clean",
    apply: "build",
    configResolved(c: ResolvedConfig) {
      outDir = resolve(c.root, c.build.outDir);
    },
    buildStart() {
      if (!existsSync(outDir)) return;
      for (const f of readdirSync(outDir)) {
        if (!KEEP.has(f)) rmSync(join(outDir, f), { recursive: true, force: true });
      }
    },
  };
}

/** sourcesManifest emits sources.txt: "sha256  path" for each input, paths from the repository's root. */
function sourcesManifest(): Plugin {
  return {
    name: "qrlogin-phone-sources-manifest",
    generateBundle() {
      const files = new Set<string>([
        join(frontend, "vite.phone.config.ts"),
        join(frontend, "package-lock.json"),
        join(src, "index.html"),
        ...readdirSync(publicDir).map((f) => join(publicDir, f)),
        // Workers are bundled apart: their modules are not this bundle's.
        ...readdirSync(src)
          .filter((f) => f.endsWith(".worker.ts"))
          .map((f) => join(src, f)),
      ]);
      for (const id of this.getModuleIds()) {
        const file = id.split("?")[0];
        if (file.startsWith(frontend) && !file.includes("/node_modules/") && existsSync(file)) files.add(file);
      }
      const lines = [...files]
        .map((f) => relative(repo, f))
        .sort()
        .map((f) => `${sha256(readFileSync(join(repo, f)))}  ${f}`);
      this.emitFile({ type: "asset", fileName: "sources.txt", source: lines.join("\n") + "\n" });
    },
  };
}

/**
 * serviceWorkerShell writes into sw.js the files that the service worker
 * keeps for offline use, and a version made of their contents: every
 * file of the build and of public/, the page as "" (its scope), and the
 * decoder's files as optional (they may not be built yet).
 */
function serviceWorkerShell(): Plugin {
  return {
    name: "qrlogin-phone-sw-shell",
    enforce: "post",
    generateBundle: {
      order: "post",
      handler(_options, bundle) {
        const sw = bundle["sw.js"];
        if (!sw || sw.type !== "chunk") this.error("the build made no sw.js");
        const contents = new Map<string, string | Uint8Array>();
        for (const [name, out] of Object.entries(bundle)) {
          if (name === "sw.js" || name === "sources.txt") continue;
          contents.set(name, out.type === "chunk" ? out.code : out.source);
        }
        for (const f of readdirSync(publicDir)) contents.set(f, readFileSync(join(publicDir, f)));
        const names = [...contents.keys()].sort();
        const h = createHash("sha256");
        for (const n of names) h.update(n).update("\0").update(contents.get(n)!).update("\0");
        const shell = {
          version: h.digest("hex").slice(0, 16),
          files: names.map((n) => (n === "index.html" ? "" : n)),
          optional: [...KEEP].sort(),
        };
        const re = new RegExp(`(["'\`])${SHELL_PLACEHOLDER}\\1`);
        if (!re.test(sw.code)) this.error(`sw.js lacks ${SHELL_PLACEHOLDER}`);
        sw.code = sw.code.replace(re, () => JSON.stringify(JSON.stringify(shell)));
        if (/^\s*(import|export)\b/m.test(sw.code)) this.error("sw.js must not import or export: it runs as a classic worker script");
      },
    },
  };
}

export default defineConfig({
  root: src,
  base: BASE,
  publicDir,
  plugins: [keepDecoder(), sourcesManifest(), serviceWorkerShell()],
  worker: {
    format: "es",
    rollupOptions: { output: { entryFileNames: "[name]-[hash].js", chunkFileNames: "[name]-[hash].js", assetFileNames: "[name]-[hash][extname]" } },
  },
  build: {
    outDir: resolve(repo, "server/phone/static"),
    emptyOutDir: false, // keepDecoder empties it, but for the decoder's files
    assetsDir: "",
    // Phones' browsers of the last few years.
    target: "es2022",
    modulePreload: false,
    reportCompressedSize: false,
    rollupOptions: {
      input: { index: join(src, "index.html"), sw: join(src, "sw.ts") },
      output: {
        entryFileNames: (chunk) => (chunk.name === "sw" ? "sw.js" : "[name]-[hash].js"),
        chunkFileNames: "[name]-[hash].js",
        assetFileNames: "[name]-[hash][extname]",
      },
    },
  },
});
