// Builds the dashboard page (src/kv/dashboard/ui/) into src/kv/dashboard/static/: app.js
// (Preact, uPlot and the page, one minified ES module), app.css and index.html. The output
// is committed, so that a member serves its dashboard with no build step and no network;
// src/kv/dashboard/bundle.test.ts rebuilds it in memory and fails when it is stale.
//
//   npm run build:dashboard           write the bundle
//   npm run build:dashboard -- --check   exit 1 if the committed bundle is stale
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = new URL('../src/kv/dashboard/', import.meta.url);
/** UI_DIR holds the page's sources. */
export const UI_DIR = new URL('ui/', root);
/** STATIC_DIR is where the built page goes (served by src/kv/dashboard/routes.ts). */
export const STATIC_DIR = new URL('static/', root);

/** buildDashboard builds the page in memory: file name → contents. */
export async function buildDashboard(): Promise<Map<string, Uint8Array>> {
  const r = await build({
    entryPoints: { app: fileURLToPath(new URL('main.tsx', UI_DIR)) },
    tsconfig: fileURLToPath(new URL('tsconfig.json', UI_DIR)),
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox111', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'eof',
    charset: 'utf8',
    outdir: fileURLToPath(STATIC_DIR),
    write: false,
    logLevel: 'silent',
  });
  const out = new Map<string, Uint8Array>();
  for (const f of r.outputFiles)
    out.set(f.path.slice(fileURLToPath(STATIC_DIR).length), f.contents);
  out.set('index.html', await readFile(new URL('index.html', UI_DIR)));
  return out;
}

/** staleFiles returns the built files whose committed copy differs (or is missing). */
export async function staleFiles(built: Map<string, Uint8Array>): Promise<string[]> {
  const stale: string[] = [];
  for (const [name, bytes] of built) {
    const committed = await readFile(new URL(name, STATIC_DIR)).catch(() => undefined);
    if (committed === undefined || !Buffer.from(bytes).equals(committed)) stale.push(name);
  }
  return stale;
}

async function main(args: string[]): Promise<number> {
  const built = await buildDashboard();
  if (args.includes('--check')) {
    const stale = await staleFiles(built);
    if (stale.length === 0) return 0;
    console.error(`dashboard bundle is stale (${stale.join(', ')}): run npm run build:dashboard`);
    return 1;
  }
  for (const [name, bytes] of built) {
    await writeFile(new URL(name, STATIC_DIR), bytes);
    console.log(`${fileURLToPath(new URL(name, STATIC_DIR))}  ${bytes.length} bytes`);
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
