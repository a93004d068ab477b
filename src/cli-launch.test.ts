import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as cliModule from './cli.js';
import { CLI_BUNDLE, codeCacheOf, loadCli } from './cli-launch.js';

describe('loadCli', () => {
  it('looks for the bundle beside the compiled modules, its code cache beside it', () => {
    expect([path.relative(path.dirname(path.dirname(CLI_BUNDLE)), CLI_BUNDLE), codeCacheOf('/x/cli.cjs')]).toEqual([path.join('bundle', 'cli.cjs'), '/x/cli.cjs.cache']);
  });

  it('without a bundle, imports the CLI module itself', async () => {
    const loaded = await loadCli(path.join(path.dirname(CLI_BUNDLE), 'no-such-bundle.cjs'));
    expect(loaded.cli).toBe(cliModule);
    expect([loaded.codeCache, loaded.bundled]).toEqual(['none', false]);
  });
});
