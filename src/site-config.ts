/**
 * @module site-config
 * The settings `GET /site/config/<section>` reports (spec files §2.2): built-in defaults, the
 * `site_config` block of `site.yaml` and the `siteConfig` option over them, checked early
 * with messages that name the key at fault. Keys use the wire names.
 *
 * Defaults are a fresh install's where the spec gives them. `themes`, `icons`,
 * `emoji_preset` and `file_viewers` are the simulator's own small sets; `login.authn` is off
 * because the simulator has no passkey routes (the UI would call them on the sign-in page).
 */
import type { Schemas } from './contract/index.js';

export interface SiteConfigSettings {
  basic: {
    title: string;
    /** JSON text: theme colour → `{light, dark}` MUI theme options. */
    themes: string;
    default_theme: string;
    logo: string;
    logo_light: string;
    custom_nav_items: Schemas['CustomNavItem'][];
    custom_html: Schemas['CustomHtml'];
    captcha_ReCaptchaKey: string;
    captcha_type: CaptchaType;
    turnstile_site_id: string;
    captcha_cap_instance_url: string;
    captcha_cap_site_key: string;
    captcha_cap_asset_server: string;
  };
  login: {
    login_captcha: boolean;
    reg_captcha: boolean;
    forget_captcha: boolean;
    authn: boolean;
    register_enabled: boolean;
    tos_url: string;
    privacy_policy_url: string;
  };
  explorer: {
    /** JSON text: `[{exts, icon?, color?, color_dark?, img?, iconify?}]`. */
    icons: string;
    map_provider: string;
    google_map_tile_type: string;
    mapbox_ak: string;
    file_viewers: Schemas['FileViewerGroup'][];
    default_viewer_mapping: Record<string, string>;
    max_batch_size: number;
    thumbnail_width: number;
    thumbnail_height: number;
    custom_props: Schemas['CustomProp'][];
    show_encryption_status: boolean;
    full_text_search: boolean;
  };
  thumb: { thumb_exts: string[] };
  emojis: {
    /** JSON text: category → list of emoji. */
    emoji_preset: string;
  };
  /** `app_promotion` is reported in `basic` too. */
  app: { app_promotion: boolean; desktop_app_promotion: boolean };
}

export type SiteConfigSection = keyof SiteConfigSettings;
type CaptchaType = NonNullable<Schemas['SiteConfigBasic']['captcha_type']>;
const CAPTCHA_TYPES: readonly CaptchaType[] = ['normal', 'recaptcha', 'turnstile', 'cap'];

/**
 * What `site.yaml` (`site_config`) and the `siteConfig` option may hold: any subset of the
 * keys of any section. `themes`, `icons` and `emoji_preset` may be given as YAML/JSON values
 * (sent as JSON text) or as JSON text.
 */
export type SiteConfigInput = { [S in SiteConfigSection]?: { [K in keyof SiteConfigSettings[S]]?: unknown } };

const THEMES = {
  '#1976d2': {
    light: { palette: { primary: { main: '#1976d2' }, secondary: { main: '#f50057' } } },
    dark: { palette: { primary: { main: '#90caf9' }, secondary: { main: '#f48fb1' } } },
  },
  '#2e7d32': {
    light: { palette: { primary: { main: '#2e7d32' }, secondary: { main: '#ff8f00' } } },
    dark: { palette: { primary: { main: '#81c784' }, secondary: { main: '#ffcc80' } } },
  },
  '#5e35b1': {
    light: { palette: { primary: { main: '#5e35b1' }, secondary: { main: '#00897b' } } },
    dark: { palette: { primary: { main: '#b39ddb' }, secondary: { main: '#80cbc4' } } },
  },
};

const ICONS = [
  { exts: ['mp3', 'flac', 'ogg', 'wav', 'm4a'], icon: 'audio', color: '#8e24aa' },
  { exts: ['mp4', 'mkv', 'webm', 'mov'], icon: 'video', color: '#e53935' },
  { exts: ['jpg', 'jpeg', 'png', 'gif', 'webp', 'bmp'], icon: 'image', color: '#fb8c00' },
  { exts: ['pdf'], icon: 'pdf', color: '#c62828' },
  { exts: ['txt', 'log'], icon: 'text', color: '#546e7a' },
  { exts: ['md'], icon: 'markdown', color: '#37474f', color_dark: '#cfd8dc' },
  { exts: ['zip', '7z', 'rar', 'tar', 'gz', 'bz2', 'xz', 'zst'], icon: 'zip', color: '#f9a825' },
  { exts: ['torrent'], icon: 'torrent', color: '#3949ab' },
];

const EMOJIS = {
  '😀': ['😀', '😄', '😂', '🙂', '😉', '😍', '🤔', '😎'],
  '🐱': ['🐱', '🐶', '🦊', '🐼', '🐧', '🦉'],
  '🍎': ['🍎', '🍊', '🍌', '🍇', '🍓', '🥕'],
  '📁': ['📁', '📂', '📄', '📝', '📦', '🔒', '⭐', '✅'],
};

const VIEWERS: Schemas['FileViewerGroup'][] = [
  {
    viewers: [
      { id: 'image', type: 'builtin', display_name: 'Image viewer', exts: ['bmp', 'gif', 'jpeg', 'jpg', 'png', 'webp'], icon: '' },
      { id: 'monaco', type: 'builtin', display_name: 'Text editor', exts: ['csv', 'json', 'log', 'md', 'txt', 'yaml', 'yml'], icon: '' },
    ],
  },
];

/** The built-in settings, before `site.yaml` and options. */
export function defaultSiteConfig(): SiteConfigSettings {
  return {
    basic: {
      title: 'Cloudreve',
      themes: JSON.stringify(THEMES),
      default_theme: '#1976d2',
      logo: '/static/img/logo.svg',
      logo_light: '/static/img/logo_light.svg',
      custom_nav_items: [],
      custom_html: {},
      captcha_ReCaptchaKey: 'defaultKey',
      captcha_type: 'normal',
      turnstile_site_id: '',
      captcha_cap_instance_url: '',
      captcha_cap_site_key: '',
      captcha_cap_asset_server: 'jsdelivr',
    },
    login: {
      login_captcha: false,
      reg_captcha: false,
      forget_captcha: false,
      authn: false,
      register_enabled: true,
      tos_url: 'https://cloudreve.org/privacy-policy',
      privacy_policy_url: 'https://cloudreve.org/privacy-policy',
    },
    explorer: {
      icons: JSON.stringify(ICONS),
      map_provider: 'openstreetmap',
      google_map_tile_type: 'regular',
      mapbox_ak: '',
      file_viewers: structuredClone(VIEWERS),
      default_viewer_mapping: {},
      max_batch_size: 3000,
      thumbnail_width: 400,
      thumbnail_height: 300,
      custom_props: [],
      show_encryption_status: true,
      full_text_search: false,
    },
    thumb: { thumb_exts: ['flac', 'gif', 'jpeg', 'jpg', 'm4a', 'mp3', 'ogg', 'png'] },
    emojis: { emoji_preset: JSON.stringify(EMOJIS) },
    app: { app_promotion: true, desktop_app_promotion: true },
  };
}

/** A bad `site_config` value; the message names the key and what to use instead. */
class SiteConfigError extends TypeError {}

type Check = (value: unknown, where: string) => unknown;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(where: string, value: unknown, fix: string): never {
  throw new SiteConfigError(`${where} is ${JSON.stringify(value)}. ${fix}`);
}

const string: Check = (v, where) => (typeof v === 'string' ? v : fail(where, v, 'Use a string.'));
const boolean: Check = (v, where) => (typeof v === 'boolean' ? v : fail(where, v, 'Use true or false.'));
const count: Check = (v, where) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(where, v, 'Use a whole number, 0 or more.');
const strings: Check = (v, where) =>
  Array.isArray(v) && v.every((s) => typeof s === 'string') ? [...(v as string[])] : fail(where, v, 'Use a list of strings.');

/** A JSON-text setting: a YAML value is serialized; a string must already be JSON. */
function jsonText(shape: 'object' | 'array'): Check {
  const fits = (v: unknown) => (shape === 'array' ? Array.isArray(v) : isObject(v));
  return (v, where) => {
    if (typeof v === 'string') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        parsed = undefined;
      }
      return fits(parsed) ? v : fail(where, v, `Use JSON text of an ${shape}, or the ${shape} itself.`);
    }
    return fits(v) ? JSON.stringify(v) : fail(where, v, `Use an ${shape} (or its JSON text).`);
  };
}

function oneOf<T extends string>(allowed: readonly T[]): Check {
  return (v, where) => (allowed.includes(v as T) ? v : fail(where, v, `Use one of: ${allowed.join(', ')}.`));
}

/** An object with exactly the given keys (in that order); `optional` keys may be absent. */
function record(keys: Record<string, Check>, optional: readonly string[] = []): Check {
  return (v, where) => {
    if (!isObject(v)) fail(where, v, `Use a mapping with ${Object.keys(keys).join(', ')}.`);
    for (const k of Object.keys(v)) if (!(k in keys)) fail(`${where}.${k}`, v[k], `Known keys: ${Object.keys(keys).join(', ')}.`);
    const out: Record<string, unknown> = {};
    for (const [k, check] of Object.entries(keys)) {
      if (v[k] === undefined) {
        if (!optional.includes(k)) fail(`${where}.${k}`, undefined, 'It is required.');
        continue;
      }
      out[k] = check(v[k], `${where}.${k}`);
    }
    return out;
  };
}

function list(item: Check): Check {
  return (v, where) => (Array.isArray(v) ? v.map((x, i) => item(x, `${where}[${i}]`)) : fail(where, v, 'Use a list.'));
}

const stringMap: Check = (v, where) => {
  if (!isObject(v)) fail(where, v, 'Use a mapping of strings.');
  for (const [k, s] of Object.entries(v)) string(s, `${where}.${k}`);
  return { ...v };
};

const VIEWER_KEYS = {
  id: string,
  type: oneOf(['builtin', 'wopi', 'custom']),
  display_name: string,
  exts: strings,
  icon: string,
  url: string,
  max_size: count,
  disabled: boolean,
  props: stringMap,
  templates: list(record({ ext: string, display_name: string })),
  platform: oneOf(['pc', 'mobile', 'all']),
  required_group_permission: list(count),
};

/** A viewer in wire order; `icon` defaults to "" and the keys after it are dropped when empty. */
const viewer: Check = (v, where) => {
  const checked = record(VIEWER_KEYS, Object.keys(VIEWER_KEYS).filter((k) => !['id', 'type', 'display_name', 'exts'].includes(k)))(v, where) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(VIEWER_KEYS)) {
    const value = k === 'icon' ? (checked.icon ?? '') : checked[k];
    if (k !== 'icon' && isEmpty(value)) continue;
    out[k] = value;
  }
  return out;
};

const customProp: Check = (v, where) => {
  if (!isObject(v)) fail(where, v, 'Use a mapping with id, name and type.');
  const head = record({ id: string, name: string, type: oneOf(['text', 'number', 'boolean', 'select', 'multi_select', 'user', 'link', 'rating']) })(
    { id: v.id, name: v.name, type: v.type },
    where,
  ) as Record<string, unknown>;
  return { ...head, ...v };
};

const CHECKS: { [S in SiteConfigSection]: { [K in keyof SiteConfigSettings[S]]: Check } } = {
  basic: {
    title: string,
    themes: jsonText('object'),
    default_theme: string,
    logo: string,
    logo_light: string,
    custom_nav_items: list((v, where) => {
      const item = record({ name: string, url: string, icon: string }, ['icon'])(v, where) as Record<string, string>;
      return { name: item.name, url: item.url, icon: item.icon ?? '' };
    }),
    custom_html: (v, where) => {
      const html = record({ headless_footer: string, headless_bottom: string, sidebar_bottom: string }, ['headless_footer', 'headless_bottom', 'sidebar_bottom'])(v, where);
      return Object.fromEntries(Object.entries(html as object).filter(([, s]) => s !== ''));
    },
    captcha_ReCaptchaKey: string,
    captcha_type: oneOf(CAPTCHA_TYPES),
    turnstile_site_id: string,
    captcha_cap_instance_url: string,
    captcha_cap_site_key: string,
    captcha_cap_asset_server: string,
  },
  login: {
    login_captcha: boolean,
    reg_captcha: boolean,
    forget_captcha: boolean,
    authn: boolean,
    register_enabled: boolean,
    tos_url: string,
    privacy_policy_url: string,
  },
  explorer: {
    icons: jsonText('array'),
    map_provider: string,
    google_map_tile_type: string,
    mapbox_ak: string,
    file_viewers: list(record({ viewers: list(viewer) })),
    default_viewer_mapping: stringMap,
    max_batch_size: count,
    thumbnail_width: count,
    thumbnail_height: count,
    custom_props: list(customProp),
    show_encryption_status: boolean,
    full_text_search: boolean,
  },
  thumb: { thumb_exts: (v, where) => (strings(v, where) as string[]).sort() },
  emojis: { emoji_preset: jsonText('object') },
  app: { app_promotion: boolean, desktop_app_promotion: boolean },
};

/** Go's zero values: what a struct-built section leaves out. */
export function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isObject(value)) return Object.keys(value).length === 0;
  return false;
}

/**
 * Applies `layers` (the site.yaml block, then the option) over the defaults, checking every
 * key. Throws a TypeError naming the layer's source and the key at fault.
 */
export function resolveSiteConfig(layers: ReadonlyArray<{ source: string; root: string; value: unknown }>): SiteConfigSettings {
  const settings = defaultSiteConfig() as unknown as Record<string, Record<string, unknown>>;
  const checks = CHECKS as unknown as Record<string, Record<string, Check>>;
  for (const { source, root, value } of layers) {
    try {
      apply(settings, checks, root, value);
    } catch (err) {
      if (err instanceof SiteConfigError) throw new TypeError(`Invalid ${source}: ${err.message}`);
      throw err;
    }
  }
  return settings as unknown as SiteConfigSettings;
}

function apply(settings: Record<string, Record<string, unknown>>, checks: Record<string, Record<string, Check>>, root: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) fail(root, value, `Use a mapping with the sections ${Object.keys(checks).join(', ')}.`);
  for (const [section, keys] of Object.entries(value)) {
    const sectionChecks = checks[section];
    if (!sectionChecks) fail(`${root}.${section}`, keys, `Known sections: ${Object.keys(checks).join(', ')}.`);
    if (keys === null || keys === undefined) continue;
    if (!isObject(keys)) fail(`${root}.${section}`, keys, 'Use a mapping of settings.');
    for (const [key, v] of Object.entries(keys)) {
      if (v === undefined) continue;
      const check = sectionChecks[key];
      if (!check) fail(`${root}.${section}.${key}`, v, `Known keys: ${Object.keys(sectionChecks).join(', ')}.`);
      settings[section]![key] = check(v, `${root}.${section}.${key}`);
    }
  }
}
