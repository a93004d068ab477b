/**
 * @module services/admin
 * The admin calls that configure downloading: the master node's settings (`/admin/node/{id}`)
 * and site settings by key (`/admin/settings`). Shapes are inferred from the official web UI.
 */
import type { RequestBody, Schemas } from '../contract/index.js';

type DownloaderConnectionInput = Schemas['DownloaderConnectionInput'];
import { ApiError, Code } from '../errors.js';
import { formatTime } from '../util/time.js';
import type { NodeDownloadSettings } from '../workflows/services.js';
import type { ServiceContext } from './context.js';
import { MASTER_NODE, MASTER_NODE_ID } from './tasks.js';

const nodeNotFound = () => new ApiError(Code.NotFound, 'Node not found');

/** GET /admin/node/{id}: the master node, its empty settings omitted. */
export function adminNode(ctx: ServiceContext, id: number): Schemas['AdminNode'] {
  if (id !== MASTER_NODE_ID) throw nodeNotFound();
  const time = (ms: number) => formatTime(ms, ctx.site.utcOffsetMinutes);
  return {
    id: MASTER_NODE.id,
    created_at: time(ctx.node.createdAt),
    updated_at: time(ctx.node.updatedAt),
    status: 'active',
    name: MASTER_NODE.name,
    type: MASTER_NODE.type,
    weight: 1,
    settings: structuredClone(ctx.node.settings),
    edges: {},
  };
}

/** A copy of an object with its empty members (`""`, 0, false, `[]`, `{}`, null) left out, as Go's `omitempty` writes it. */
function withoutEmpty<T extends object>(value: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const kept = v !== null && typeof v === 'object' && !Array.isArray(v) && k !== 'options' ? withoutEmpty(v) : v;
    const empty =
      kept === undefined || kept === null || kept === '' || kept === 0 || kept === false || (Array.isArray(kept) && kept.length === 0) || (typeof kept === 'object' && Object.keys(kept).length === 0);
    if (!empty) out[k] = kept;
  }
  return out as Partial<T>;
}

/**
 * PUT /admin/node/{id}: replaces the node's download settings (the UI sends them whole);
 * running downloads use them at their next poll. Empty values are dropped.
 */
export function updateAdminNode(ctx: ServiceContext, id: number, body: RequestBody<'updateAdminNode'>): Schemas['AdminNode'] {
  if (id !== MASTER_NODE_ID) throw nodeNotFound();
  const given = body.node.settings ?? {};
  const connection = (c: DownloaderConnectionInput | undefined) =>
    c && { server: c.server, token: c.token, user: c.user, password: c.password, temp_path: c.temp_path, options: c.options && structuredClone(c.options) };
  const check = given.url_validation;
  ctx.node.settings = withoutEmpty({
    provider: given.provider || undefined,
    aria2: connection(given.aria2),
    qbittorrent: connection(given.qbittorrent),
    interval: given.interval,
    wait_for_seeding: given.wait_for_seeding,
    url_validation: check && { disabled: check.disabled, allowed_hosts: check.allowed_hosts && [...check.allowed_hosts], allowed_cidrs: check.allowed_cidrs && [...check.allowed_cidrs] },
  }) as NodeDownloadSettings;
  ctx.node.updatedAt = ctx.clock.now();
  return adminNode(ctx, id);
}

/** POST /admin/settings: each asked key's value, `""` for a key never written. */
export function adminSettings(ctx: ServiceContext, body: RequestBody<'getAdminSettings'>): Record<string, string> {
  return Object.fromEntries(body.keys.map((k) => [k, ctx.settings.get(k) ?? '']));
}

/** PATCH /admin/settings: stores every given key; answers what was written. */
export function updateAdminSettings(ctx: ServiceContext, body: RequestBody<'updateAdminSettings'>): Record<string, string> {
  for (const [k, v] of Object.entries(body.settings)) ctx.settings.set(k, v);
  return { ...body.settings };
}

/**
 * Where URLs made for a request start (spec F§12): the `siteURL` entry whose host is the
 * request's `Host`, else its first entry; the request's own origin while it is unset.
 */
export function siteUrlFor(ctx: ServiceContext, requestOrigin: string, host: string | undefined): string {
  const entries = (ctx.settings.get('siteURL') ?? '').split(',').map((e) => e.trim().replace(/\/+$/, '')).filter((e) => e !== '');
  if (entries.length === 0) return requestOrigin;
  const hostOf = (e: string): string | undefined => {
    try {
      return new URL(e).host;
    } catch {
      return undefined;
    }
  };
  return entries.find((e) => host !== undefined && hostOf(e) === host) ?? entries[0]!;
}
