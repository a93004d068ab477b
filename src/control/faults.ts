/**
 * @module control/faults
 * Declarative faults: rules that match a request or a task and inject a failure. Request
 * faults answer with any Cloudreve envelope, reset the connection, truncate the body or delay
 * it; task faults make an iteration fail (critical or retryable, N times), stall or run slower.
 * Rules come from the control API, a scenario file at start, or a request's `Prefer` header.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IterationFault } from '../engine/engine.js';
import { TaskError, type Task } from '../engine/task.js';
import type { Random } from '../util/random.js';
import { globMatch } from './glob.js';

export type RequestAction =
  | { envelope: { code: number; msg?: string; data?: unknown; correlation_id?: boolean } }
  | { transport: 'reset' | 'truncate' | { delay_ms: number } };

export type TaskAction =
  | { fail: { message: string; critical?: boolean } }
  | { stall: true }
  | { slow: { factor?: number; extra_ms?: number } };

export interface RequestMatch {
  /** HTTP method; any when omitted. */
  method?: string;
  /** Glob on the path, e.g. `/api/v4/workflow/*`; any when omitted. */
  path?: string;
}

export interface TaskMatch {
  type?: string;
  /** The phase the iteration runs in ("" is the initial phase); any when omitted. */
  phase?: string;
  /** Glob matched against any source URI of the task (src_multiple, src, src_str). */
  src?: string;
  /** Glob matched against the task's dst. */
  dst?: string;
  /** Only the nth matching task created (1-based). */
  nth?: number;
}

/** A fault rule as given by a user (HTTP body, scenario file, in-process). */
export type FaultRuleInput = {
  id?: string;
  /** Only in this namespace ("" or "default" = the default world); every namespace when omitted. */
  namespace?: string;
  /** How many times the rule fires; unlimited when omitted. */
  times?: number;
  /** Chance (0–1) that a matching request or iteration is hit, drawn from the seeded random source. */
  probability?: number;
} & ({ request: RequestMatch } & RequestAction | { task: TaskMatch } & TaskAction);

export type FaultRule = FaultRuleInput & { id: string; fired: number };

/** A rule the simulator refused; the message names the field at fault. */
export class FaultError extends Error {
  override readonly name = 'FaultError';
}

export interface TaskHooks {
  created(task: Task): void;
  iteration(task: Task): IterationFault | undefined;
}

export interface FaultRegistry {
  /** Checks and adds rules; returns them with their ids. */
  add(input: FaultRuleInput | FaultRuleInput[]): FaultRule[];
  list(): FaultRule[];
  remove(id: string): boolean;
  clear(): number;
  /** The request fault for a request, if one fires (a firing is consumed). */
  forRequest(namespace: string, method: string, path: string): FaultRule | undefined;
  /** Whether a rule fires now (times left, chance drawn); a firing is counted. */
  fire(rule: FaultRule): boolean;
  /** Hooks for one world's engine. */
  taskHooks(namespace: string): TaskHooks;
  /** Runs `fn` with `rules` applying to the tasks it creates (a request's `Prefer` faults). */
  withTaskRules<T>(rules: FaultRule[], fn: () => T): T;
  /** Forgets what was bound to one world's tasks (its reset or drop). */
  forgetNamespace(namespace: string): void;
}

const REQUEST_ACTIONS = ['envelope', 'transport'] as const;
const TASK_ACTIONS = ['fail', 'stall', 'slow'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks one rule; throws FaultError naming the problem. */
export function checkRule(raw: unknown, where = 'fault'): FaultRuleInput {
  if (!isObject(raw)) throw new FaultError(`${where}: expected an object`);
  const has = (k: string) => raw[k] !== undefined;
  const actions = [...REQUEST_ACTIONS, ...TASK_ACTIONS].filter(has);
  if (actions.length !== 1) {
    throw new FaultError(`${where}: give exactly one action of ${[...REQUEST_ACTIONS, ...TASK_ACTIONS].join(', ')}`);
  }
  const action = actions[0]!;
  const isRequest = (REQUEST_ACTIONS as readonly string[]).includes(action);
  if (isRequest && !isObject(raw.request)) throw new FaultError(`${where}: "${action}" needs a "request" match ({} matches every request)`);
  if (!isRequest && !isObject(raw.task)) throw new FaultError(`${where}: "${action}" needs a "task" match ({} matches every task)`);
  if (has('times') && !(Number.isInteger(raw.times) && (raw.times as number) >= 1)) throw new FaultError(`${where}.times: use a whole number ≥ 1`);
  if (has('probability') && !(typeof raw.probability === 'number' && raw.probability >= 0 && raw.probability <= 1)) {
    throw new FaultError(`${where}.probability: use a number from 0 to 1`);
  }
  if (has('namespace') && typeof raw.namespace !== 'string') throw new FaultError(`${where}.namespace: use a string`);
  if (has('id') && (typeof raw.id !== 'string' || !raw.id)) throw new FaultError(`${where}.id: use a non-empty string`);
  const str = (o: Record<string, unknown>, k: string, w: string) => {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw new FaultError(`${w}.${k}: use a string`);
  };
  if (isRequest) {
    const m = raw.request as Record<string, unknown>;
    str(m, 'method', `${where}.request`);
    str(m, 'path', `${where}.request`);
  } else {
    const m = raw.task as Record<string, unknown>;
    for (const k of ['type', 'phase', 'src', 'dst']) str(m, k, `${where}.task`);
    if (m.nth !== undefined && !(Number.isInteger(m.nth) && (m.nth as number) >= 1)) throw new FaultError(`${where}.task.nth: use a whole number ≥ 1`);
  }
  switch (action) {
    case 'envelope': {
      const e = raw.envelope;
      if (!isObject(e) || !Number.isInteger(e.code)) throw new FaultError(`${where}.envelope: give {code, msg?, data?}`);
      if (e.msg !== undefined && typeof e.msg !== 'string') throw new FaultError(`${where}.envelope.msg: use a string`);
      break;
    }
    case 'transport': {
      const t = raw.transport;
      const ok = t === 'reset' || t === 'truncate' || (isObject(t) && typeof t.delay_ms === 'number' && t.delay_ms >= 0);
      if (!ok) throw new FaultError(`${where}.transport: use "reset", "truncate" or {"delay_ms": n}`);
      break;
    }
    case 'fail': {
      const f = raw.fail;
      if (!isObject(f) || typeof f.message !== 'string' || !f.message) throw new FaultError(`${where}.fail: give {message, critical?}`);
      if (f.critical !== undefined && typeof f.critical !== 'boolean') throw new FaultError(`${where}.fail.critical: use true or false`);
      break;
    }
    case 'stall':
      if (raw.stall !== true) throw new FaultError(`${where}.stall: use true`);
      break;
    case 'slow': {
      const s = raw.slow;
      const good = (v: unknown) => v === undefined || (typeof v === 'number' && v >= 0 && Number.isFinite(v));
      if (!isObject(s) || !good(s.factor) || !good(s.extra_ms) || (s.factor === undefined && s.extra_ms === undefined)) {
        throw new FaultError(`${where}.slow: give {factor?, extra_ms?} with numbers ≥ 0`);
      }
      break;
    }
  }
  return raw as FaultRuleInput;
}

/** The default world's namespace as rules and the journal name it. */
export const DEFAULT_NAMESPACE = 'default';

const sameNamespace = (rule: FaultRuleInput, namespace: string) =>
  rule.namespace === undefined || (rule.namespace === '' ? DEFAULT_NAMESPACE : rule.namespace) === namespace;

function taskSources(task: Task): string[] {
  const p = task.props;
  const out: string[] = [];
  if (Array.isArray(p.src_multiple)) out.push(...(p.src_multiple as unknown[]).filter((s): s is string => typeof s === 'string'));
  for (const k of ['src', 'src_str']) if (typeof p[k] === 'string' && p[k]) out.push(p[k] as string);
  return out;
}

function matchesTask(m: TaskMatch, task: Task, phase?: string): boolean {
  if (m.type !== undefined && m.type !== task.type) return false;
  if (phase !== undefined && m.phase !== undefined && m.phase !== phase) return false;
  if (m.src !== undefined && !taskSources(task).some((s) => globMatch(m.src, s))) return false;
  if (m.dst !== undefined && !(typeof task.props.dst === 'string' && globMatch(m.dst, task.props.dst))) return false;
  return true;
}

/** `onFire` hears of every firing (the conformance report counts fault kinds with it). */
export function createFaultRegistry(random: Random, onFire?: (rule: FaultRule) => void): FaultRegistry {
  let rules: FaultRule[] = [];
  let nextId = 1;
  // Rules bound to particular tasks (nth, Prefer), by "namespace:taskId".
  const bound = new Map<string, FaultRule[]>();
  // nth counts the matching tasks of each world on its own.
  const seen = new Map<FaultRule, Map<string, number>>();
  const preferred = new AsyncLocalStorage<FaultRule[]>();

  const chance = (rule: FaultRule): boolean => {
    if (rule.probability === undefined || rule.probability >= 1) return true;
    return random.bytes(4).readUInt32BE(0) / 2 ** 32 < rule.probability;
  };
  const spent = (rule: FaultRule) => rule.times !== undefined && rule.fired >= rule.times;
  const fire = (rule: FaultRule): boolean => {
    if (spent(rule) || !chance(rule)) return false;
    rule.fired += 1;
    onFire?.(rule);
    return true;
  };

  const make = (input: FaultRuleInput, where: string): FaultRule => {
    const checked = checkRule(input, where);
    const id = checked.id ?? `fault-${nextId++}`;
    return { ...structuredClone(checked), id, fired: 0 };
  };

  return {
    add(input) {
      const list = Array.isArray(input) ? input : [input];
      const made = list.map((r, i) => make(r, Array.isArray(input) ? `faults[${i}]` : 'fault'));
      for (const r of made) {
        if (rules.some((x) => x.id === r.id)) throw new FaultError(`fault id "${r.id}" is already in use`);
      }
      rules.push(...made);
      return made;
    },
    list: () => rules,
    remove(id) {
      const before = rules.length;
      rules = rules.filter((r) => r.id !== id);
      return rules.length < before;
    },
    clear() {
      const n = rules.length;
      rules = [];
      bound.clear();
      seen.clear();
      return n;
    },
    fire,
    forRequest(namespace, method, path) {
      for (const rule of rules) {
        if (!('request' in rule) || !sameNamespace(rule, namespace)) continue;
        const m = rule.request;
        if (m.method !== undefined && m.method.toUpperCase() !== method) continue;
        if (!globMatch(m.path, path)) continue;
        if (fire(rule)) return rule;
      }
      return undefined;
    },
    taskHooks(namespace) {
      const keyOf = (task: Task) => `${namespace}:${task.id}`;
      return {
        created(task) {
          const mine: FaultRule[] = [...(preferred.getStore() ?? [])];
          for (const rule of rules) {
            if (!('task' in rule) || rule.task.nth === undefined || !sameNamespace(rule, namespace)) continue;
            if (!matchesTask(rule.task, task)) continue;
            let perWorld = seen.get(rule);
            if (!perWorld) seen.set(rule, (perWorld = new Map()));
            const n = (perWorld.get(namespace) ?? 0) + 1;
            perWorld.set(namespace, n);
            if (n === rule.task.nth) mine.push(rule);
          }
          if (mine.length > 0) bound.set(keyOf(task), mine);
        },
        iteration(task) {
          const candidates = [
            ...(bound.get(keyOf(task)) ?? []),
            ...rules.filter((r) => 'task' in r && r.task.nth === undefined && sameNamespace(r, namespace)),
          ];
          for (const rule of candidates) {
            if (!('task' in rule) || !matchesTask(rule.task, task, task.phase)) continue;
            if (!fire(rule)) continue;
            if ('fail' in rule) {
              const text = rule.fail.message;
              return { fail: rule.fail.critical ? TaskError.critical(text) : TaskError.retryable(text) };
            }
            if ('stall' in rule) return { stall: true };
            return { factor: rule.slow.factor ?? 1, extraMs: rule.slow.extra_ms ?? 0 };
          }
          return undefined;
        },
      };
    },
    withTaskRules(list, fn) {
      return preferred.run(list, fn);
    },
    forgetNamespace(namespace) {
      for (const k of [...bound.keys()]) if (k.startsWith(`${namespace}:`)) bound.delete(k);
      for (const perWorld of seen.values()) perWorld.delete(namespace);
    },
  };
}

/**
 * Reads fault rules from a `Prefer` header, e.g.
 * `Prefer: fault=envelope; code=40073; msg="Lock conflict"`, `Prefer: fault=reset`,
 * `Prefer: fault=delay; delay_ms=500`, `Prefer: fault=fail; message="disk full"; critical=true; times=2`.
 * Request kinds (envelope, reset, truncate, delay) apply to this request; task kinds (fail,
 * stall, slow) to the tasks it creates. Returns [] when the header names no fault.
 */
export function parsePreferFaults(header: string | undefined): FaultRuleInput[] {
  if (!header) return [];
  const params = new Map<string, string>();
  for (const m of header.matchAll(/([A-Za-z_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;,]*)/g)) {
    const raw = m[2]!.trim();
    params.set(m[1]!.toLowerCase(), raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw);
  }
  const kind = params.get('fault');
  if (!kind) return [];
  const num = (k: string) => (params.has(k) ? Number(params.get(k)) : undefined);
  const chance = params.has('probability') ? { probability: num('probability') } : {};
  const times = params.has('times') ? { times: num('times') } : {};
  const task = { ...(params.has('phase') ? { phase: params.get('phase') } : {}) };
  let rule: unknown;
  switch (kind) {
    case 'envelope': {
      let data: unknown;
      if (params.has('data')) {
        try {
          data = JSON.parse(params.get('data')!);
        } catch {
          throw new FaultError('Prefer: data must be JSON');
        }
      }
      const envelope = { code: num('code'), msg: params.get('msg') ?? '', ...(data !== undefined ? { data } : {}) };
      rule = { times: 1, ...times, ...chance, request: {}, envelope };
      break;
    }
    case 'reset':
    case 'truncate':
      rule = { times: 1, ...times, ...chance, request: {}, transport: kind };
      break;
    case 'delay':
      rule = { times: 1, ...times, ...chance, request: {}, transport: { delay_ms: num('delay_ms') } };
      break;
    case 'fail':
      rule = { times: 1, ...times, ...chance, task, fail: { message: params.get('message'), critical: params.get('critical') === 'true' } };
      break;
    case 'stall':
      rule = { ...times, ...chance, task, stall: true };
      break;
    case 'slow':
      rule = { ...times, ...chance, task, slow: { ...(params.has('factor') ? { factor: num('factor') } : {}), ...(params.has('extra_ms') ? { extra_ms: num('extra_ms') } : {}) } };
      break;
    default:
      throw new FaultError(`Prefer: unknown fault "${kind}" (use envelope, reset, truncate, delay, fail, stall or slow)`);
  }
  // The same checks as a declared rule.
  return [checkRule(rule, 'Prefer')];
}
