/**
 * @module contract/compile
 * Build step (`npm run build`): writes each contract as JSON beside the compiled contract
 * module, so a started simulator loads it without parsing YAML. The YAML stays the source: a
 * twin older than its YAML is ignored.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { compiledContractFile, CONTRACT_FILE } from './index.js';

const CONTRACTS = [CONTRACT_FILE, fileURLToPath(new URL('../../openapi/control.yaml', import.meta.url))];

for (const file of CONTRACTS) writeFileSync(compiledContractFile(file), JSON.stringify(parse(readFileSync(file, 'utf8'))));
