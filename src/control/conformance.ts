/**
 * @module control/conformance
 * Behaviour coverage of a client's test run: which operations it called and with which
 * answers, which task types it saw in which statuses and phases (from the answers it got),
 * which Cloudreve error codes reached it and which kinds of injected fault fired. Collected
 * across every world and every reset while the simulator lives, and written as JSON, JUnit XML
 * and a small HTML page.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isServed, operationMatcher, type OpenApiDocument, type OpenApiOperation } from '../contract/index.js';
import { TRANSITIONS, type TaskStatus } from '../engine/task.js';
import { Code } from '../errors.js';
import type { FaultRule } from './faults.js';

/** Every status, in the state machine's order. */
const TASK_STATUSES = Object.keys(TRANSITIONS) as readonly TaskStatus[];

export const FAULT_KINDS = ['envelope', 'reset', 'truncate', 'delay', 'fail_critical', 'fail_retryable', 'stall', 'slow'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The kind of an injected fault, as the report counts it. */
export function faultKind(rule: FaultRule): FaultKind {
  if ('envelope' in rule) return 'envelope';
  if ('transport' in rule) return typeof rule.transport === 'string' ? rule.transport : 'delay';
  if ('fail' in rule) return rule.fail.critical ? 'fail_critical' : 'fail_retryable';
  return 'stall' in rule ? 'stall' : 'slow';
}

/** What can be covered: the operations served, and each task type with its phases. */
export interface CoverageUniverse {
  operations: Array<{ operation: string; method: string; path: string }>;
  tasks: Array<{ type: string; phases: readonly string[] }>;
}

/** The statuses a task type can reach: only remote downloads are ever canceled (spec §10.5). */
const statusesOf = (type: string): readonly TaskStatus[] => (type === 'remote_download' ? TASK_STATUSES : TASK_STATUSES.filter((s) => s !== 'canceled'));

/** The operations a contract serves for an edition and version (as the HTTP layer routes them). */
export function operationsOf(doc: OpenApiDocument, edition: string, legacy: boolean): CoverageUniverse['operations'] {
  const out: CoverageUniverse['operations'] = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      const op = raw as OpenApiOperation;
      if (!op || typeof op !== 'object' || !op.operationId) continue;
      if (!isServed(op, edition, legacy)) continue;
      out.push({ operation: op.operationId, method: method.toUpperCase(), path: `/api/v4${p}` });
    }
  }
  return out;
}

export interface ConformanceReport {
  simulator: { version: string; edition: string };
  summary: Record<'operations' | 'task_statuses' | 'task_phases' | 'error_codes' | 'faults', { covered: number; total: number; percent: number }> & { requests: number };
  operations: Array<{ operation: string; method: string; path: string; requests: number; codes: Record<string, number> }>;
  task_statuses: Array<{ type: string; status: TaskStatus; seen: number }>;
  task_phases: Array<{ type: string; phase: string; seen: number }>;
  error_codes: Array<{ code: number; name: string; seen: number; operations: string[] }>;
  faults: Array<{ kind: FaultKind; fired: number }>;
}

/** One answer the client got, as the journal saw it. */
export interface ObservedExchange {
  method: string;
  path: string;
  /** The operation that answered; undefined when something answered before routing. */
  operation: string | undefined;
  code: number | null;
  /** The decoded answer; read only for the answers that carry tasks or nested errors. */
  response: () => unknown;
}

export interface Coverage {
  observe(exchange: ObservedExchange): void;
  fault(rule: FaultRule): void;
  report(universe: CoverageUniverse, simulator: ConformanceReport['simulator']): ConformanceReport;
}

/** Operations whose answers carry tasks: `data` is a task, a list of them, or `{tasks}`. */
const TASK_ANSWERS = new Set(['listTasks', 'createArchive', 'extractArchive', 'createDownload', 'importFiles', 'relocateFiles']);

const CODE_NAMES = new Map<number, string>(Object.entries(Code).map(([name, code]) => [code, name]));

export function createCoverage(doc: OpenApiDocument): Coverage {
  const operationAt = operationMatcher(doc, '/api/v4');
  const calls = new Map<string, Map<string, number>>();
  const statuses = new Map<string, number>();
  const phases = new Map<string, number>();
  const codes = new Map<number, Set<string>>();
  const codeCounts = new Map<number, number>();
  const faults = new Map<FaultKind, number>();
  let requests = 0;
  const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  const seenCode = (code: number, operation: string) => {
    bump(codeCounts, code);
    (codes.get(code) ?? codes.set(code, new Set()).get(code)!).add(operation);
  };

  return {
    observe({ method, path, operation: routed, code, response }) {
      requests++;
      const operation = routed ?? operationAt(method, path)?.operationId;
      if (!operation) return;
      const perCode = calls.get(operation) ?? calls.set(operation, new Map()).get(operation)!;
      bump(perCode, code === null ? 'none' : String(code));
      if (code === null) return;
      if (code !== 0) seenCode(code, operation);
      if (code === Code.BatchOperationFailed) {
        const inner = (response() as { aggregated_error?: Record<string, { code?: unknown }> } | null)?.aggregated_error ?? {};
        for (const item of Object.values(inner)) if (typeof item?.code === 'number') seenCode(item.code, operation);
      }
      if (code !== 0 || !TASK_ANSWERS.has(operation)) return;
      const data = (response() as { data?: unknown } | null)?.data;
      const tasks = Array.isArray(data) ? data : data && typeof data === 'object' && Array.isArray((data as { tasks?: unknown }).tasks) ? (data as { tasks: unknown[] }).tasks : [data];
      for (const t of tasks as Array<{ type?: unknown; status?: unknown; summary?: { phase?: unknown } } | null>) {
        if (!t || typeof t.type !== 'string' || typeof t.status !== 'string') continue;
        bump(statuses, `${t.type}\0${t.status}`);
        bump(phases, `${t.type}\0${typeof t.summary?.phase === 'string' ? t.summary.phase : ''}`);
      }
    },
    fault(rule) {
      bump(faults, faultKind(rule));
    },
    report(universe, simulator) {
      const operations = universe.operations.map((o) => ({ ...o, requests: [...(calls.get(o.operation)?.values() ?? [])].reduce((a, b) => a + b, 0), codes: Object.fromEntries(calls.get(o.operation) ?? []) }));
      const task_statuses = universe.tasks.flatMap((t) => statusesOf(t.type).map((status) => ({ type: t.type, status, seen: statuses.get(`${t.type}\0${status}`) ?? 0 })));
      const task_phases = universe.tasks.flatMap((t) => t.phases.map((phase) => ({ type: t.type, phase, seen: phases.get(`${t.type}\0${phase}`) ?? 0 })));
      const error_codes = [...CODE_NAMES]
        .filter(([code]) => code !== 0)
        .sort(([a], [b]) => a - b)
        .map(([code, name]) => ({ code, name, seen: codeCounts.get(code) ?? 0, operations: [...(codes.get(code) ?? [])].sort() }));
      // Codes the table does not name (none should reach a client) are reported too.
      for (const [code, n] of codeCounts) if (!CODE_NAMES.has(code)) error_codes.push({ code, name: '', seen: n, operations: [...(codes.get(code) ?? [])].sort() });
      const faultRows = FAULT_KINDS.map((kind) => ({ kind, fired: faults.get(kind) ?? 0 }));
      const share = (rows: Array<{ seen?: number; requests?: number; fired?: number }>) => {
        const covered = rows.filter((r) => (r.seen ?? r.requests ?? r.fired ?? 0) > 0).length;
        return { covered, total: rows.length, percent: rows.length ? Math.round((1000 * covered) / rows.length) / 10 : 0 };
      };
      return {
        simulator,
        summary: {
          requests,
          operations: share(operations),
          task_statuses: share(task_statuses),
          task_phases: share(task_phases),
          error_codes: share(error_codes.filter((e) => e.name !== '')),
          faults: share(faultRows),
        },
        operations,
        task_statuses,
        task_phases,
        error_codes,
        faults: faultRows,
      };
    },
  };
}

// ---------------------------------------------------------------------------- writing it out

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** The dimensions of a report as suites of named items, each exercised or not. */
function suites(r: ConformanceReport): Array<{ name: string; items: Array<{ name: string; count: number; detail: string }> }> {
  return [
    { name: 'operations', items: r.operations.map((o) => ({ name: `${o.method} ${o.path} (${o.operation})`, count: o.requests, detail: Object.entries(o.codes).map(([c, n]) => `${c}×${n}`).join(' ') })) },
    { name: 'task statuses', items: r.task_statuses.map((t) => ({ name: `${t.type} ${t.status}`, count: t.seen, detail: '' })) },
    { name: 'task phases', items: r.task_phases.map((t) => ({ name: `${t.type} phase "${t.phase}"`, count: t.seen, detail: '' })) },
    { name: 'error codes', items: r.error_codes.map((e) => ({ name: `${e.code} ${e.name}`.trim(), count: e.seen, detail: e.operations.join(' ') })) },
    { name: 'fault kinds', items: r.faults.map((f) => ({ name: f.kind, count: f.fired, detail: '' })) },
  ];
}

/** JUnit XML: a suite per dimension, a test case per item; an item never exercised is skipped. */
export function conformanceJUnit(r: ConformanceReport): string {
  const all = suites(r);
  const total = all.reduce((n, s) => n + s.items.length, 0);
  const skipped = all.reduce((n, s) => n + s.items.filter((i) => i.count === 0).length, 0);
  const lines = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="cloudreve-sim conformance" tests="${total}" failures="0" skipped="${skipped}">`];
  for (const s of all) {
    lines.push(`  <testsuite name="${xml(s.name)}" tests="${s.items.length}" failures="0" skipped="${s.items.filter((i) => i.count === 0).length}">`);
    for (const i of s.items) {
      const name = xml(i.name);
      if (i.count === 0) lines.push(`    <testcase classname="${xml(s.name)}" name="${name}"><skipped message="not exercised"/></testcase>`);
      else lines.push(`    <testcase classname="${xml(s.name)}" name="${name}"><system-out>${xml(`${i.count}${i.detail ? ` — ${i.detail}` : ''}`)}</system-out></testcase>`);
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

/** A self-contained HTML page: the summary and one table per dimension. */
export function conformanceHtml(r: ConformanceReport): string {
  const rows = suites(r)
    .map(
      (s) =>
        `<h2>${xml(s.name)} — ${s.items.filter((i) => i.count > 0).length} of ${s.items.length}</h2>\n<table>\n<tr><th>item</th><th>seen</th><th>detail</th></tr>\n` +
        s.items.map((i) => `<tr class="${i.count > 0 ? 'hit' : 'miss'}"><td>${xml(i.name)}</td><td>${i.count}</td><td>${xml(i.detail)}</td></tr>`).join('\n') +
        '\n</table>',
    )
    .join('\n');
  const sum = r.summary;
  const line = (label: string, v: { covered: number; total: number; percent: number }) => `<li>${label}: ${v.covered} of ${v.total} (${v.percent} %)</li>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Conformance — cloudreve-sim</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}tr.hit td:nth-child(2){background:#d7f5d7}tr.miss td:nth-child(2){background:#fde2e2}</style></head>
<body><h1>Behaviour coverage</h1>
<p>Simulated Cloudreve ${xml(r.simulator.version)} (${xml(r.simulator.edition)}), ${sum.requests} requests.</p>
<ul>${line('operations', sum.operations)}${line('task type × status', sum.task_statuses)}${line('task type × phase', sum.task_phases)}${line('error codes', sum.error_codes)}${line('fault kinds', sum.faults)}</ul>
${rows}
</body></html>
`;
}

/** The one-line summary the CLI prints. */
export function conformanceSummary(r: ConformanceReport): string {
  const s = r.summary;
  const part = (label: string, v: { covered: number; total: number; percent: number }) => `${label} ${v.covered}/${v.total} (${v.percent} %)`;
  return `Conformance: ${s.requests} requests; ${part('operations', s.operations)}, ${part('task statuses', s.task_statuses)}, ${part('task phases', s.task_phases)}, ${part('error codes', s.error_codes)}, ${part('fault kinds', s.faults)}.`;
}

/** Writes `conformance.json`, `conformance.xml` (JUnit) and `index.html` into `dir`; answers their paths. */
export function writeConformanceReport(report: ConformanceReport, dir: string): { json: string; junit: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const files = { json: path.join(dir, 'conformance.json'), junit: path.join(dir, 'conformance.xml'), html: path.join(dir, 'index.html') };
  writeFileSync(files.json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files.junit, conformanceJUnit(report));
  writeFileSync(files.html, conformanceHtml(report));
  return files;
}
