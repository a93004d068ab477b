/**
 * @module services/site
 * `GET /site/config/<section>` (spec files §2.2): each section is built from one struct, so
 * keys come in a fixed order and are left out when false, empty or zero, except
 * `basic.user` and `basic.custom_html`. An unknown section answers like `basic`.
 *
 * Below 4.18 (spec files §16) there is no `thumb` section (it answers like `basic`), the keys
 * 4.18 added are absent, and the cap captcha's site key is sent as `captcha_cap_key_id`.
 */
import type { Schemas, SuccessData } from '../contract/index.js';
import type { User } from '../accounts/accounts.js';
import { isEmpty } from '../site-config.js';
import type { ServiceContext } from './context.js';
import { userDto } from './session.js';

/** The anonymous group of a fresh install: id 3, bits 1 (anonymous) and 7 (share download). */
const ANONYMOUS_GROUP = { id: 3, name: 'Anonymous', permission: 'gg==' } as const;
/** Go's zero time, which the pseudo-user carries as its creation time. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Copies `value` into `into[key]` unless it is a zero value. */
function put<T extends object, K extends keyof T>(into: T, key: K, value: T[K]): void {
  if (!isEmpty(value)) into[key] = value;
}

/** The caller as `basic.user`: the User object, or the anonymous pseudo-user. */
export function siteUser(ctx: ServiceContext, caller: User | undefined): Schemas['User'] {
  if (caller) return userDto(ctx, caller);
  const group = ctx.accounts.groups.find((g) => g.id === ANONYMOUS_GROUP.id);
  return {
    id: ctx.ids.encode('user', 0),
    nickname: '',
    created_at: ZERO_TIME,
    anonymous: true,
    group: {
      id: ctx.ids.encode('group', group?.id ?? ANONYMOUS_GROUP.id),
      name: group?.name ?? ANONYMOUS_GROUP.name,
      permission: group?.permission ?? ANONYMOUS_GROUP.permission,
    },
  };
}

function basic(ctx: ServiceContext, caller: User | undefined): Schemas['SiteConfigBasic'] {
  const c = ctx.site.config.basic;
  const out = {} as Schemas['SiteConfigBasic'];
  put(out, 'instance_id', ctx.site.instanceId);
  put(out, 'title', c.title);
  put(out, 'themes', c.themes);
  put(out, 'default_theme', c.default_theme);
  out.user = siteUser(ctx, caller);
  put(out, 'logo', c.logo);
  put(out, 'logo_light', c.logo_light);
  const legacy = ctx.site.legacy;
  if (!legacy) {
    put(out, 'custom_nav_items', c.custom_nav_items);
    out.custom_html = c.custom_html;
  }
  put(out, 'captcha_ReCaptchaKey', c.captcha_ReCaptchaKey);
  put(out, 'captcha_type', c.captcha_type);
  put(out, 'turnstile_site_id', c.turnstile_site_id);
  put(out, 'captcha_cap_instance_url', c.captcha_cap_instance_url);
  if (legacy) {
    put(out, 'captcha_cap_key_id', c.captcha_cap_site_key);
  } else {
    put(out, 'captcha_cap_site_key', c.captcha_cap_site_key);
    put(out, 'captcha_cap_asset_server', c.captcha_cap_asset_server);
  }
  if (ctx.site.config.app.app_promotion) out.app_promotion = true;
  return out;
}

function login(ctx: ServiceContext): Schemas['SiteConfigLogin'] {
  const c = ctx.site.config.login;
  const out: Schemas['SiteConfigLogin'] = {};
  if (c.login_captcha) out.login_captcha = true;
  if (c.reg_captcha) out.reg_captcha = true;
  if (c.forget_captcha) out.forget_captcha = true;
  if (c.authn) out.authn = true;
  if (c.register_enabled) out.register_enabled = true;
  put(out, 'tos_url', c.tos_url);
  put(out, 'privacy_policy_url', c.privacy_policy_url);
  return out;
}

function explorer(ctx: ServiceContext): Schemas['SiteConfigExplorer'] {
  const c = ctx.site.config.explorer;
  const out: Schemas['SiteConfigExplorer'] = {};
  const legacy = ctx.site.legacy;
  put(out, 'icons', c.icons);
  put(out, 'map_provider', c.map_provider);
  put(out, 'google_map_tile_type', c.google_map_tile_type);
  if (!legacy) put(out, 'mapbox_ak', c.mapbox_ak);
  put(out, 'file_viewers', c.file_viewers);
  if (!legacy) put(out, 'default_viewer_mapping', c.default_viewer_mapping);
  put(out, 'max_batch_size', c.max_batch_size);
  put(out, 'thumbnail_width', c.thumbnail_width);
  put(out, 'thumbnail_height', c.thumbnail_height);
  if (legacy) return out;
  put(out, 'custom_props', c.custom_props);
  if (c.show_encryption_status) out.show_encryption_status = true;
  if (c.full_text_search) out.full_text_search = true;
  return out;
}

/** GET /site/config/:section */
export function siteConfig(ctx: ServiceContext, section: string, caller: User | undefined): SuccessData<'getSiteConfig'> {
  const config = ctx.site.config;
  switch (section) {
    case 'login':
      return login(ctx);
    case 'explorer':
      return explorer(ctx);
    case 'thumb': {
      if (ctx.site.legacy) return basic(ctx, caller);
      const out: Schemas['SiteConfigThumb'] = {};
      put(out, 'thumb_exts', config.thumb.thumb_exts);
      return out;
    }
    case 'emojis': {
      const out: Schemas['SiteConfigEmojis'] = {};
      put(out, 'emoji_preset', config.emojis.emoji_preset);
      return out;
    }
    case 'app': {
      const out: Schemas['SiteConfigApp'] = {};
      if (config.app.app_promotion) out.app_promotion = true;
      if (config.app.desktop_app_promotion && !ctx.site.legacy) out.desktop_app_promotion = true;
      return out;
    }
    default:
      return basic(ctx, caller);
  }
}
