/**
 * @module util/code-cache
 * Running a CommonJS file with a V8 code cache beside it. Compiling JavaScript is a large part
 * of starting a process; V8 can write out the code it compiled for a script (including the
 * functions first compiled while it ran) and take it back in a later process instead of
 * compiling again. The cache belongs to one source text and one V8 version and set of flags:
 * V8 checks that, and a cache that does not fit is ignored (`rejected`), which only costs the
 * compilation it would have saved.
 */
import { isAscii } from 'node:buffer';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

/** How a script was compiled: from its cache, not from a cache V8 refused, or without one. */
export type CodeCacheState = 'accepted' | 'rejected' | 'none';

export interface CachedModule {
  /** The file's `module.exports`. */
  exports: unknown;
  cache: CodeCacheState;
  /** Writes the cache as it stands now (everything compiled so far), atomically. */
  save(): void;
}

function readCache(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Runs `file` as a CommonJS module, compiled with `cacheFile` when there is one. The module
 * gets the usual `require` (resolving from its own folder), `module`, `__filename` and
 * `__dirname`, and its dynamic `import()`s go to Node's own loader (but see `cli-bundle`: code
 * taken from a cache loses that, so the bundle uses `require()` instead). A leading `#!` line
 * is dropped, as Node does for files it loads itself.
 */
export function requireWithCodeCache(file: string, cacheFile: string): CachedModule {
  const bytes = readFileSync(file);
  // ASCII text is its own Latin-1, which decodes several times faster than UTF-8.
  const source = (isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8')).replace(/^#!.*/, '');
  const cachedData = readCache(cacheFile);
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cache: CodeCacheState = !cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : 'accepted';
  const mod = new Module(file);
  mod.filename = file;
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  return {
    exports: mod.exports,
    cache,
    save() {
      const temp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(temp, script.createCachedData());
      renameSync(temp, cacheFile);
    },
  };
}
