/**
 * @module util/yaml-file
 * Reading the package's YAML files (the contracts, the bundled fixtures) without loading a YAML
 * parser at start. The build (`npm run build`, `contract/compile`) writes a JSON twin of each
 * under `dist/twins/`, mirroring its path in the package; a twin as new as its YAML is read
 * instead of it. The YAML stays the source: one edited after the build is parsed, as is every
 * file outside the package (a user's fixtures, scenarios). The parser is loaded on first use.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (this module is at `src/util/` or `dist/util/`, and the CLI's bundle at `dist/bundle/`). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the build writes the JSON twins (beside the compiled modules; there is none for the sources). */
const TWINS = fileURLToPath(new URL('../twins/', import.meta.url));

/** Where the JSON twin of a package file is kept; undefined for a file outside the package. */
export function twinOf(file: string): string | undefined {
  const rel = path.relative(PACKAGE_ROOT, path.resolve(file));
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return path.join(TWINS, `${rel}.json`);
}

const require = createRequire(import.meta.url);

/** Parses YAML text (the `yaml` package, loaded when first needed; the module cache keeps it). */
export function parseYaml(text: string): unknown {
  return (require('yaml') as { parse(text: string): unknown }).parse(text);
}

/**
 * A YAML file's value: its JSON twin when the build wrote one from the current YAML, otherwise
 * the parsed YAML. Errors are the YAML's (a missing file throws ENOENT, as reading it would).
 */
export function readYamlFile(file: string, twin: string | undefined = twinOf(file)): unknown {
  if (twin) {
    try {
      if (statSync(twin).mtimeMs >= statSync(file).mtimeMs) return JSON.parse(readFileSync(twin, 'utf8'));
    } catch {
      // no twin (running from the sources), or it cannot be read: the YAML is the source anyway
    }
  }
  return parseYaml(readFileSync(file, 'utf8'));
}
