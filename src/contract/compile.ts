/**
 * @module contract/compile
 * Build step (`npm run build`): writes the JSON twin of each YAML file the simulator reads from
 * the package (the contracts, the bundled fixtures' settings) under `dist/twins/`, so a started
 * simulator loads them without a YAML parser (see util/yaml-file). A file whose value would not
 * survive JSON gets no twin, and is parsed at start as before.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { PACKAGE_ROOT, parseYaml, twinOf } from '../util/yaml-file.js';

const FOLDERS = ['openapi', 'fixtures', 'fixtures/remote'];

for (const folder of FOLDERS) {
  const dir = path.join(PACKAGE_ROOT, folder);
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    const file = path.join(dir, name);
    const value = parseYaml(readFileSync(file, 'utf8'));
    const json = JSON.stringify(value);
    const twin = twinOf(file)!;
    if (!isDeepStrictEqual(JSON.parse(json), value)) {
      console.warn(`${path.relative(PACKAGE_ROOT, file)}: not plain JSON data, read as YAML at start`);
      continue;
    }
    mkdirSync(path.dirname(twin), { recursive: true });
    writeFileSync(twin, json);
  }
}
