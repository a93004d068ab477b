/**
 * @module cli-launch
 * How the `cloudreve-sim` command (`bin.ts`) loads the CLI. The build bundles the CLI and the
 * libraries it loads at start into one CommonJS file, `dist/bundle/cli.cjs` (modules used only
 * by tasks and archive routes run when first imported, and packages loaded on first use stay in
 * `node_modules`), and writes the code V8 compiled for it while starting once and answering a
 * request to `dist/bundle/cli.cjs.cache`. One file instead of hundreds of modules, compiled
 * ahead, is what makes the command start in about half the time (see the README's Performance
 * section). Without a bundle (running from the sources, or a build that skipped it) the CLI
 * module is imported as it is.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { requireWithCodeCache, type CodeCacheState } from './util/code-cache.js';

export type CliModule = typeof import('./cli.js');

/** Where the build writes the bundle (beside the compiled modules). */
export const CLI_BUNDLE = fileURLToPath(new URL('./bundle/cli.cjs', import.meta.url));

/** The code cache of a bundle. */
export const codeCacheOf = (bundle: string): string => `${bundle}.cache`;

/** The CLI module: the bundle's, compiled from its cache when it has one, or else the module itself. */
export async function loadCli(bundle: string = CLI_BUNDLE): Promise<{ cli: CliModule; codeCache: CodeCacheState; bundled: boolean }> {
  if (!existsSync(bundle)) return { cli: await import('./cli.js'), codeCache: 'none', bundled: false };
  const loaded = requireWithCodeCache(bundle, codeCacheOf(bundle));
  return { cli: loaded.exports as CliModule, codeCache: loaded.cache, bundled: true };
}
