/**
 * @module build/cli-bundle
 * Build step (`npm run build`, after the compiler): bundles the compiled CLI (`dist/cli.js`)
 * and what it loads at start into `dist/bundle/cli.cjs` with rolldown, then starts the bundled
 * CLI once in this process, answers one request, and writes the code V8 compiled meanwhile to
 * the bundle's code cache (see `cli-launch`, `util/code-cache`).
 *
 * What the bundle holds: the simulator's modules and the packages they import statically. A
 * module the simulator imports on first use (`import('../codecs/zip.js')`) is in it too, and
 * runs when first imported; a package imported on first use (`import('tar')`) stays in
 * `node_modules`, and so does one loaded through `createRequire` (7-Zip's wasm engine and the
 * decompressors that read files beside themselves). Only the build runs this module; rolldown
 * is a development dependency.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, type Plugin } from 'rolldown';
import { CLI_BUNDLE, codeCacheOf, type CliModule } from '../cli-launch.js';
import { requireWithCodeCache } from '../util/code-cache.js';

const ENTRY = path.join(path.dirname(path.dirname(CLI_BUNDLE)), 'cli.js');

/** A bare specifier (`tar`, `@faker-js/faker/locale/en`), not a path. */
const isPackage = (specifier: string) => !specifier.startsWith('.') && !path.isAbsolute(specifier) && !specifier.startsWith('node:');

/** Packages imported on first use stay where they are, loaded by Node when first needed. */
const firstUsePackagesStayExternal: Plugin = {
  name: 'first-use-packages-stay-external',
  resolveId(source, _importer, extra) {
    return extra.kind === 'dynamic-import' && isPackage(source) ? { id: source, external: true } : null;
  },
};

async function bundle(): Promise<void> {
  rmSync(path.dirname(CLI_BUNDLE), { recursive: true, force: true });
  await build({
    input: ENTRY,
    platform: 'node',
    plugins: [firstUsePackagesStayExternal],
    logLevel: 'warn',
    output: {
      format: 'cjs',
      // `require()` (Node loads ES modules that way too) rather than `import()`: V8 gives code
      // taken from a code cache no way back to Node's loader for `import()`.
      dynamicImportInCjs: false,
      dir: path.dirname(CLI_BUNDLE),
      entryFileNames: path.basename(CLI_BUNDLE),
      // One file: the modules loaded on first use are in it too, run when first imported, so
      // that nothing the start needs is left in a chunk compiled without the cache.
      codeSplitting: false,
      sourcemap: true,
      // ASCII only (other characters escaped), so that it reads as a one-byte string; without
      // whitespace and comments, so that there is less of it. Names stay as they are.
      charset: 'ascii',
      minify: { compress: false, mangle: false, codegen: { removeWhitespace: true } },
    },
  });
}

/** Starts the bundled CLI on a free port, answers a request, stops it and saves the compiled code. */
async function writeCodeCache(): Promise<void> {
  const loaded = requireWithCodeCache(CLI_BUNDLE, codeCacheOf(CLI_BUNDLE));
  const cli = loaded.exports as CliModule;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cloudreve-sim-build-'));
  try {
    const sim = await cli.main(['--port', '0', '--host', '127.0.0.1', '--log-level', 'silent', '--data-dir', dataDir], {}, { write: () => true });
    if (!sim) throw new Error('the bundled CLI did not start');
    const res = await fetch(`${sim.url}/api/v4/site/ping`);
    const body = (await res.json()) as { code?: unknown };
    await sim.close();
    if (res.status !== 200 || body.code !== 0) throw new Error(`the bundled CLI answered ${res.status} ${JSON.stringify(body)}`);
    loaded.save();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await bundle();
await writeCodeCache();
