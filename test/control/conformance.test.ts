/**
 * The SDK conformance kit: behaviour coverage collected from what clients sent and got
 * (operations and their codes, task type × status and × phase, error codes, fault kinds),
 * across namespaces and resets; `sim.conformance()`, `GET /__sim/conformance`, the written
 * report (JSON, JUnit XML, HTML) and `cloudreve-sim conformance -- <command>`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { describe, expect, it, onTestFinished } from 'vitest';
import { conformanceMain } from '../../src/cli.js';
import { loadContract } from '../../src/contract/index.js';
import { operationsOf } from '../../src/control/conformance.js';
import { conformanceJUnit, writeConformanceReport, type ConformanceReport } from '../../src/index.js';
import { testSimulator } from '../helpers.js';
import { ctl, user } from './helpers.js';

const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'conformance-'));
  onTestFinished(() => rmSync(d, { recursive: true, force: true }));
  return d;
};

const row = <T extends Record<string, unknown>>(rows: T[], match: Partial<T>): T | undefined =>
  rows.find((r) => Object.entries(match).every(([k, v]) => r[k] === v));

/** A short client run: a finished archive, a failed one (task fault), a batch error, an injected envelope. */
async function exercise(sim: ReturnType<typeof testSimulator>, ns?: string) {
  const alice = await user(sim, 'alice', ns);
  sim.faults.use({ task: { type: 'create_archive', dst: '*broken*' }, fail: { message: 'disk on fire', critical: true } });
  await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/ok.zip');
  await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/broken.zip');
  await sim.namespace(ns ?? 'default').clock.runUntilIdle();
  await alice.list();
  const del = request(sim.app).delete('/api/v4/file').set('Authorization', `Bearer ${alice.access}`).send({ uris: ['cloudreve://my/missing.txt'] });
  expect((await (ns ? del.set('X-Sim-Namespace', ns) : del)).body.code).toBe(40081);
  const faulted = request(sim.app).get('/api/v4/site/ping').set('Prefer', 'fault=envelope; code=50001');
  expect((await (ns ? faulted.set('X-Sim-Namespace', ns) : faulted)).body.code).toBe(50001);
}

describe('behaviour coverage', () => {
  it('counts operations with their codes, task statuses and phases as clients saw them, error codes (inside 40081 too) and fault kinds', async () => {
    const sim = testSimulator({ coverage: true });
    await exercise(sim);
    const r = sim.conformance();
    expect(r.simulator).toEqual({ version: '4.18.0', edition: 'pro' });
    expect(row(r.operations, { operation: 'createArchive' })).toEqual({ operation: 'createArchive', method: 'POST', path: '/api/v4/workflow/archive', requests: 2, codes: { '0': 2 } });
    expect(row(r.operations, { operation: 'signIn' })).toMatchObject({ requests: 1, codes: { '0': 1 } });
    expect(row(r.operations, { operation: 'deleteFiles' })).toMatchObject({ requests: 1, codes: { '40081': 1 } });
    expect(row(r.operations, { operation: 'ping' })).toMatchObject({ requests: 1, codes: { '50001': 1 } });
    expect(row(r.operations, { operation: 'extractArchive' })).toMatchObject({ requests: 0, codes: {} });
    // The creates answered `queued`; the list showed one completed and one in error.
    expect(row(r.task_statuses, { type: 'create_archive', status: 'queued' })!.seen).toBe(2);
    expect(row(r.task_statuses, { type: 'create_archive', status: 'completed' })!.seen).toBe(1);
    expect(row(r.task_statuses, { type: 'create_archive', status: 'error' })!.seen).toBe(1);
    expect(row(r.task_statuses, { type: 'create_archive', status: 'canceled' })).toBeUndefined(); // only downloads are canceled
    expect(row(r.task_statuses, { type: 'remote_download', status: 'canceled' })!.seen).toBe(0);
    expect(row(r.task_phases, { type: 'create_archive', phase: '' })!.seen).toBe(3); // two creates, and the task that failed in its first phase
    expect(row(r.task_phases, { type: 'create_archive', phase: 'upload_archive' })!.seen).toBe(1);
    expect(row(r.error_codes, { code: 40081 })).toEqual({ code: 40081, name: 'BatchOperationFailed', seen: 1, operations: ['deleteFiles'] });
    expect(row(r.error_codes, { code: 40016 })).toEqual({ code: 40016, name: 'ParentNotExist', seen: 1, operations: ['deleteFiles'] });
    expect(row(r.error_codes, { code: 50001 })).toEqual({ code: 50001, name: 'DBError', seen: 1, operations: ['ping'] });
    expect(r.faults).toEqual([
      { kind: 'envelope', fired: 1 },
      { kind: 'reset', fired: 0 },
      { kind: 'truncate', fired: 0 },
      { kind: 'delay', fired: 0 },
      { kind: 'fail_critical', fired: 1 }, // a critical failure ends the task at once
      { kind: 'fail_retryable', fired: 0 },
      { kind: 'stall', fired: 0 },
      { kind: 'slow', fired: 0 },
    ]);
    const total = operationsOf(loadContract(), 'pro', false).length;
    expect(r.summary.operations).toEqual({ covered: 5, total, percent: Math.round((1000 * 5) / total) / 10 });
    expect(r.summary.faults).toEqual({ covered: 2, total: 8, percent: 25 });
    expect(r.summary.requests).toBe(6);
  });

  it('spans namespaces and survives resets', async () => {
    const sim = testSimulator({ coverage: true });
    await exercise(sim, 'one');
    sim.reset();
    await (await user(sim, 'alice', 'two')).list();
    const r = sim.conformance();
    expect(row(r.operations, { operation: 'createArchive' })!.requests).toBe(2);
    expect(row(r.operations, { operation: 'signIn' })!.requests).toBe(2);
    expect(row(r.operations, { operation: 'listTasks' })!.requests).toBe(2);
  });

  it('is answered over HTTP as in-process; without coverage the call explains how to turn it on', async () => {
    const sim = testSimulator({ coverage: true });
    await exercise(sim);
    const res = await ctl(sim).get('/conformance');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(sim.conformance());

    const off = testSimulator();
    expect(() => off.conformance()).toThrow('Failed to report conformance: this simulator collects no coverage. Please create it with { coverage: true } (cloudreve-sim --coverage).');
    const refused = await ctl(off).get('/conformance');
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ error: 'This simulator collects no coverage: start it with --coverage (or { coverage: true }), or through `cloudreve-sim conformance`.' });
  });
});

describe('the written report', () => {
  it('writes the JSON, a JUnit file with a suite per dimension (items never exercised skipped) and an HTML page', async () => {
    const sim = testSimulator({ coverage: true });
    await exercise(sim);
    const report = sim.conformance();
    const dir = tempDir();
    const files = writeConformanceReport(report, dir);
    expect(files).toEqual({ json: path.join(dir, 'conformance.json'), junit: path.join(dir, 'conformance.xml'), html: path.join(dir, 'index.html') });
    expect(JSON.parse(readFileSync(files.json, 'utf8'))).toEqual(report);

    const xml = readFileSync(files.junit, 'utf8');
    expect(xml).toBe(conformanceJUnit(report));
    const items = report.operations.length + report.task_statuses.length + report.task_phases.length + report.error_codes.length + report.faults.length;
    const missed =
      report.operations.filter((o) => o.requests === 0).length +
      [...report.task_statuses, ...report.task_phases, ...report.error_codes].filter((x) => x.seen === 0).length +
      report.faults.filter((f) => f.fired === 0).length;
    expect(xml).toContain(`<testsuites name="cloudreve-sim conformance" tests="${items}" failures="0" skipped="${missed}">`);
    for (const suite of ['operations', 'task statuses', 'task phases', 'error codes', 'fault kinds']) expect(xml).toContain(`<testsuite name="${suite}"`);
    expect(xml).toContain('<testcase classname="operations" name="POST /api/v4/workflow/archive (createArchive)"><system-out>2 — 0×2</system-out></testcase>');
    expect(xml).toContain('<testcase classname="operations" name="POST /api/v4/workflow/extract (extractArchive)"><skipped message="not exercised"/></testcase>');
    expect((xml.match(/<testcase /g) ?? []).length).toBe(items);

    const html = readFileSync(files.html, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain(`<li>operations: ${report.summary.operations.covered} of ${report.summary.operations.total} (${report.summary.operations.percent} %)</li>`);
    expect(html).toContain('<tr class="hit"><td>create_archive completed</td><td>1</td><td></td></tr>');
  });

  it('escapes what it writes', () => {
    const report: ConformanceReport = {
      simulator: { version: '4.18.0', edition: 'pro' },
      summary: { requests: 0, operations: { covered: 0, total: 1, percent: 0 }, task_statuses: { covered: 0, total: 0, percent: 0 }, task_phases: { covered: 0, total: 0, percent: 0 }, error_codes: { covered: 0, total: 0, percent: 0 }, faults: { covered: 0, total: 0, percent: 0 } },
      operations: [{ operation: 'x', method: 'GET', path: '/a<b>&"c"', requests: 0, codes: {} }],
      task_statuses: [],
      task_phases: [],
      error_codes: [],
      faults: [],
    };
    expect(conformanceJUnit(report)).toContain('name="GET /a&lt;b&gt;&amp;&quot;c&quot; (x)"');
  });
});

describe('cloudreve-sim conformance', () => {
  it('runs a command against the simulator, writes the report and exits with the command’s code', async () => {
    const dir = tempDir();
    const out: string[] = [];
    const client = `fetch(process.env.CLOUDREVE_SIM_API + '/site/ping').then((r) => r.json()).then((b) => process.exit(b.code === 0 && process.env.CLOUDREVE_SIM_URL ? 3 : 1))`;
    const code = await conformanceMain(['--report', dir, '--port', '0', '--clock', 'virtual', '--', process.execPath, '-e', client], {}, { write: (s: string) => (out.push(s), true) } as never);
    expect(code).toBe(3);
    const report = JSON.parse(readFileSync(path.join(dir, 'conformance.json'), 'utf8')) as ConformanceReport;
    expect(report.operations.find((o) => o.operation === 'ping')).toMatchObject({ requests: 1, codes: { '0': 1 } });
    expect(report.summary.requests).toBe(1);
    const text = out.join('');
    expect(text).toContain(`Running: ${process.execPath} -e ${client}`);
    expect(text).toMatch(/Conformance: 1 requests; operations 1\/\d+ \(\d+(\.\d)? %\), task statuses 0\/\d+ \(0 %\), task phases 0\/\d+ \(0 %\), error codes 0\/\d+ \(0 %\), fault kinds 0\/8 \(0 %\)\./);
    expect(text).toContain(`Report: ${path.join(dir, 'conformance.json')}, ${path.join(dir, 'conformance.xml')}, ${path.join(dir, 'index.html')}`);
  });

  it('answers 127 when the command cannot be run, and still writes the report', async () => {
    const dir = tempDir();
    const out: string[] = [];
    const code = await conformanceMain(['--report', dir, '--port', '0', '--', path.join(dir, 'no-such-command')], {}, { write: (s: string) => (out.push(s), true) } as never);
    expect(code).toBe(127);
    expect(out.join('')).toContain('could not run');
    expect(JSON.parse(readFileSync(path.join(dir, 'conformance.json'), 'utf8')).summary.requests).toBe(0);
  });

  it('refuses --report without a folder', async () => {
    await expect(conformanceMain(['--report'], {}, { write: () => true } as never)).rejects.toThrow('Invalid --report: give the folder to write the report into.');
  });
});
