#!/usr/bin/env node
/**
 * @module bin
 * The `cloudreve-sim` command: loads the CLI the fastest way the build left (`cli-launch`) and
 * runs it with the process's arguments.
 */
import { loadCli } from './cli-launch.js';

const { cli, codeCache } = await loadCli();
cli.run(process.argv.slice(2), codeCache);
