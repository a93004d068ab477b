/**
 * GET /site/config/:section, GET /session/prepare, GET /user/capacity and GET /user/avatar/:id
 * (spec files §2.2, §3, §4; checklist A).
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { describe, expect, it, onTestFinished } from 'vitest';
import { resolveOptions } from '../../src/options.js';
import { accessTokenFor, ACCOUNTS, as, signIn, testSimulator, UUID_V4 } from '../helpers.js';

const API = '/api/v4';
const CID = expect.stringMatching(UUID_V4);

/** The sections' keys in the server's order, as the fixtures produce them. */
const BASIC_KEYS = [
  'instance_id', 'title', 'themes', 'default_theme', 'user', 'logo', 'logo_light', 'custom_html',
  'captcha_ReCaptchaKey', 'captcha_type', 'captcha_cap_asset_server', 'app_promotion',
];
const EXPLORER_KEYS = [
  'icons', 'map_provider', 'google_map_tile_type', 'file_viewers', 'max_batch_size', 'thumbnail_width',
  'thumbnail_height', 'show_encryption_status',
];

/** `data` of a successful GET under /api/v4, asserting the envelope around it. */
async function dataOf(res: request.Response) {
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.body.code, res.text).toBe(0);
  expect(Object.keys(res.body)).toEqual(['code', 'data', 'msg']);
  expect(res.body.msg).toBe('');
  return res.body.data;
}

describe('GET /site/ping (checklist A1)', () => {
  it('answers the version with the envelope keys in order', async () => {
    const sim = testSimulator({ edition: 'community' });
    expect((await request(sim.app).get(`${API}/site/ping`)).text).toBe('{"code":0,"data":"4.18.0","msg":""}');
  });
});

describe('GET /site/config/basic', () => {
  it('carries the anonymous pseudo-user without a token, and every key in order (A2)', async () => {
    const sim = testSimulator();
    const data = await dataOf(await request(sim.app).get(`${API}/site/config/basic`));
    expect(Object.keys(data)).toEqual(BASIC_KEYS);
    expect(data).toEqual({
      instance_id: expect.stringMatching(UUID_V4),
      title: 'Cloudreve',
      themes: expect.any(String),
      default_theme: '#1976d2',
      user: {
        id: sim.ids.encode('user', 0),
        nickname: '',
        created_at: '0001-01-01T00:00:00Z',
        anonymous: true,
        group: { id: sim.ids.encode('group', 3), name: 'Anonymous', permission: 'gg==' },
      },
      logo: '/static/img/logo.svg',
      logo_light: '/static/img/logo_light.svg',
      custom_html: {},
      captcha_ReCaptchaKey: 'defaultKey',
      captcha_type: 'normal',
      captcha_cap_asset_server: 'jsdelivr',
      app_promotion: true,
    });
    expect(Object.keys(data.user)).toEqual(['id', 'nickname', 'created_at', 'anonymous', 'group']);
    expect(Object.keys(data.user.group)).toEqual(['id', 'name', 'permission']);
  });

  it('sends `themes` as JSON text holding the default theme with light and dark palettes', async () => {
    const sim = testSimulator();
    const data = await dataOf(await request(sim.app).get(`${API}/site/config/basic`));
    const themes = JSON.parse(data.themes) as Record<string, { light: any; dark: any }>;
    expect(Object.keys(themes).length).toBeGreaterThan(1);
    for (const theme of Object.values(themes)) {
      expect(theme.light.palette.primary.main).toMatch(/^#[0-9a-f]{6}$/);
      expect(theme.dark.palette.primary.main).toMatch(/^#[0-9a-f]{6}$/);
    }
    expect(themes[data.default_theme]).toBeDefined();
  });

  it.each([
    ['alice', 3, 4, 'Member', 'tAo=', 259200],
    ['admin', 1, 1, 'Admin', '/RoB', 604800],
    ['user', 2, 2, 'User', 'hAg=', 604800],
  ] as const)('carries the signed-in %s as the sign-in User object, without `anonymous` (A3)', async (who, id, groupId, group, permission, retention) => {
    const sim = testSimulator();
    const session = await signIn(sim, who);
    const res = await request(sim.app).get(`${API}/site/config/basic`).set('Authorization', `Bearer ${session.access}`);
    const data = await dataOf(res);
    expect(Object.keys(data)).toEqual(BASIC_KEYS);
    expect(data.user).toEqual(session.body.data.user);
    expect(data.user).toEqual({
      id: sim.ids.encode('user', id),
      email: ACCOUNTS[who].email,
      nickname: who,
      status: 'active',
      created_at: expect.any(String),
      group: { id: sim.ids.encode('group', groupId), name: group, permission, trash_retention: retention },
    });
    expect(res.text).toContain(`"user":{"id":"${sim.ids.encode('user', id)}","email":"${ACCOUNTS[who].email}","nickname":"${who}","status":"active","created_at":`);
  });

  it('treats an expired or forged token as anonymous, as every route does', async () => {
    const sim = testSimulator();
    const expired = await accessTokenFor(sim, 3, { exp: Math.floor(sim.clock.now() / 1000) - 1 });
    for (const auth of [`Bearer ${expired}`, 'Bearer garbage']) {
      const data = await dataOf(await request(sim.app).get(`${API}/site/config/basic`).set('Authorization', auth));
      expect(data.user.anonymous).toBe(true);
    }
  });

  it('answers the token errors: a refresh token → 40020, a banned user → 50001', async () => {
    const sim = testSimulator();
    const { refresh } = await signIn(sim, 'alice');
    const res = await request(sim.app).get(`${API}/site/config/basic`).set('Authorization', `Bearer ${refresh}`);
    expect(res.body).toEqual({ code: 40020, msg: 'Invalid token type', correlation_id: CID });
    const banned = await accessTokenFor(sim, ACCOUNTS.banned.id);
    const res2 = await request(sim.app).get(`${API}/site/config/basic`).set('Authorization', `Bearer ${banned}`);
    expect(res2.body).toEqual({ code: 50001, msg: 'failed to get login user', correlation_id: CID });
  });

  it('keeps instance_id for the life of a world, and draws it from the seed', async () => {
    const sim = testSimulator();
    const id = async (s = sim) => (await dataOf(await request(s.app).get(`${API}/site/config/basic`))).instance_id;
    const first = await id();
    expect(await id()).toBe(first);
    sim.reset();
    expect(await id()).toBe(first); // same seed, same draw
    expect(await id(testSimulator())).toBe(first);
    expect(await id(testSimulator({ seed: 'another seed' }))).not.toBe(first);
  });
});

describe('GET /site/config/:section', () => {
  it('login: the fresh-install values without captcha or passkeys, keys in order (A4)', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get(`${API}/site/config/login`);
    expect(res.text).toBe(
      '{"code":0,"data":{"register_enabled":true,"tos_url":"https://cloudreve.org/privacy-policy","privacy_policy_url":"https://cloudreve.org/privacy-policy"},"msg":""}',
    );
    for (const flag of ['login_captcha', 'reg_captcha', 'forget_captcha', 'authn', 'register_enabled']) {
      if (flag in res.body.data) expect(typeof res.body.data[flag]).toBe('boolean');
    }
  });

  it('explorer: batch size, thumbnail size, icons as JSON text, viewers in groups (A5)', async () => {
    const sim = testSimulator();
    const data = await dataOf(await request(sim.app).get(`${API}/site/config/explorer`));
    expect(Object.keys(data)).toEqual(EXPLORER_KEYS);
    expect(data).toMatchObject({
      map_provider: 'openstreetmap',
      google_map_tile_type: 'regular',
      max_batch_size: 3000,
      thumbnail_width: 400,
      thumbnail_height: 300,
      show_encryption_status: true,
    });
    expect(typeof data.icons).toBe('string');
    const icons = JSON.parse(data.icons) as Array<{ exts: string[]; icon?: string; color?: string }>;
    expect(icons.length).toBeGreaterThan(0);
    for (const icon of icons) expect(icon.exts.length).toBeGreaterThan(0);
    expect(icons.find((i) => i.exts.includes('zip'))?.icon).toBe('zip');
    expect(data.file_viewers).toEqual([
      {
        viewers: [
          { id: 'image', type: 'builtin', display_name: 'Image viewer', exts: ['bmp', 'gif', 'jpeg', 'jpg', 'png', 'webp'], icon: '' },
          { id: 'monaco', type: 'builtin', display_name: 'Text editor', exts: ['csv', 'json', 'log', 'md', 'txt', 'yaml', 'yml'], icon: '' },
        ],
      },
    ]);
    for (const viewer of data.file_viewers[0].viewers) expect(Object.keys(viewer)).toEqual(['id', 'type', 'display_name', 'exts', 'icon']);
  });

  it('thumb: the sorted extensions of a fresh install', async () => {
    const sim = testSimulator();
    expect((await request(sim.app).get(`${API}/site/config/thumb`)).text).toBe(
      '{"code":0,"data":{"thumb_exts":["flac","gif","jpeg","jpg","m4a","mp3","ogg","png"]},"msg":""}',
    );
  });

  it('emojis: the preset as JSON text, category → emoji', async () => {
    const sim = testSimulator();
    const data = await dataOf(await request(sim.app).get(`${API}/site/config/emojis`));
    expect(Object.keys(data)).toEqual(['emoji_preset']);
    const preset = JSON.parse(data.emoji_preset) as Record<string, string[]>;
    expect(Object.keys(preset).length).toBeGreaterThan(1);
    for (const list of Object.values(preset)) expect(list.length).toBeGreaterThan(0);
  });

  it('app: both promotions', async () => {
    const sim = testSimulator();
    expect((await request(sim.app).get(`${API}/site/config/app`)).text).toBe(
      '{"code":0,"data":{"app_promotion":true,"desktop_app_promotion":true},"msg":""}',
    );
  });

  it.each(['vas', 'Basic', 'LOGIN', 'anything', '%20'])('answers the unknown section %j like basic (A6)', async (section) => {
    const sim = testSimulator();
    const basic = await request(sim.app).get(`${API}/site/config/basic`);
    const other = await request(sim.app).get(`${API}/site/config/${section}`);
    expect(other.text).toBe(basic.text);
    expect(other.body.data.user.anonymous).toBe(true);
  });

  it('needs a section: /site/config and /site/config/ are unknown routes', async () => {
    const sim = testSimulator();
    for (const url of [`${API}/site/config`, `${API}/site/config/`]) {
      const res = await request(sim.app).get(url);
      expect(res.status).toBe(404);
      expect(res.text).toBe('404 page not found');
    }
  });

  it('takes its values from the siteConfig option, leaving out what is false, empty or zero', async () => {
    const sim = testSimulator({
      siteConfig: {
        basic: {
          title: 'My Drive',
          logo: '',
          custom_nav_items: [{ name: 'Help', url: 'https://example.org/help' }],
          custom_html: { sidebar_bottom: '<b>hi</b>', headless_footer: '' },
          themes: { '#00796b': { light: { palette: { primary: { main: '#00796b' } } } } },
          default_theme: '#00796b',
        },
        login: { login_captcha: true, register_enabled: false, tos_url: '' },
        explorer: {
          icons: '[]',
          max_batch_size: 0,
          full_text_search: true,
          default_viewer_mapping: { txt: 'monaco' },
          file_viewers: [{ viewers: [{ exts: ['txt'], display_name: 'Text', type: 'custom', id: 'x', url: 'https://example.org/v', max_size: 0, platform: 'pc' }] }],
        },
        app: { app_promotion: false },
      },
    });
    const basic = await dataOf(await request(sim.app).get(`${API}/site/config/basic`));
    expect(Object.keys(basic)).toEqual([
      'instance_id', 'title', 'themes', 'default_theme', 'user', 'logo_light', 'custom_nav_items', 'custom_html',
      'captcha_ReCaptchaKey', 'captcha_type', 'captcha_cap_asset_server',
    ]);
    expect(basic).toMatchObject({
      title: 'My Drive',
      themes: '{"#00796b":{"light":{"palette":{"primary":{"main":"#00796b"}}}}}',
      default_theme: '#00796b',
      custom_nav_items: [{ name: 'Help', url: 'https://example.org/help', icon: '' }],
      custom_html: { sidebar_bottom: '<b>hi</b>' },
    });
    const login = await request(sim.app).get(`${API}/site/config/login`);
    expect(login.text).toBe('{"code":0,"data":{"login_captcha":true,"privacy_policy_url":"https://cloudreve.org/privacy-policy"},"msg":""}');
    const explorer = await request(sim.app).get(`${API}/site/config/explorer`);
    expect(explorer.text).toContain('"file_viewers":[{"viewers":[{"id":"x","type":"custom","display_name":"Text","exts":["txt"],"icon":"","url":"https://example.org/v","platform":"pc"}]}],"default_viewer_mapping":{"txt":"monaco"},"thumbnail_width":400');
    expect(Object.keys(explorer.body.data)).toEqual([
      'icons', 'map_provider', 'google_map_tile_type', 'file_viewers', 'default_viewer_mapping', 'thumbnail_width',
      'thumbnail_height', 'show_encryption_status', 'full_text_search',
    ]);
    expect((await request(sim.app).get(`${API}/site/config/app`)).text).toBe('{"code":0,"data":{"desktop_app_promotion":true},"msg":""}');
  });

  it('4.0.0 mode: no thumb section and none of the keys 4.18 added', async () => {
    const sim = testSimulator({ version: '4.0.0', siteConfig: { basic: { captcha_cap_site_key: 'k1' } } });
    const basic = await dataOf(await request(sim.app).get(`${API}/site/config/basic`));
    expect(Object.keys(basic)).toEqual([
      'instance_id', 'title', 'themes', 'default_theme', 'user', 'logo', 'logo_light', 'captcha_ReCaptchaKey', 'captcha_type',
      'captcha_cap_key_id', 'app_promotion',
    ]);
    expect(basic.captcha_cap_key_id).toBe('k1');
    expect((await request(sim.app).get(`${API}/site/config/thumb`)).text).toBe((await request(sim.app).get(`${API}/site/config/basic`)).text);
    const explorer = await dataOf(await request(sim.app).get(`${API}/site/config/explorer`));
    expect(Object.keys(explorer)).toEqual(['icons', 'map_provider', 'google_map_tile_type', 'file_viewers', 'max_batch_size', 'thumbnail_width', 'thumbnail_height']);
    expect((await request(sim.app).get(`${API}/site/config/app`)).text).toBe('{"code":0,"data":{"app_promotion":true},"msg":""}');
  });
});

describe('site settings from site.yaml and options', () => {
  /** A fixtures folder holding only a site.yaml with `text`. */
  function fixturesWithSite(text: string): string {
    const dir = mkdtempSync(path.join(tmpdir(), 'site-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'site.yaml'), text);
    return dir;
  }

  it('reads site_config from site.yaml, under the option', () => {
    const fixtures = fixturesWithSite('site_config:\n  basic: { title: From YAML, logo: /x.svg }\n  thumb: { thumb_exts: [png, avif] }\n');
    const resolved = resolveOptions({ fixtures, siteConfig: { basic: { title: 'From option' } } });
    expect(resolved.siteConfig.basic.title).toBe('From option');
    expect(resolved.siteConfig.basic.logo).toBe('/x.svg');
    expect(resolved.siteConfig.thumb.thumb_exts).toEqual(['avif', 'png']);
    expect(resolved.siteConfig.login.authn).toBe(false);
  });

  it('keeps the built-in values without a site_config block', () => {
    const resolved = resolveOptions({ fixtures: fixturesWithSite('version: 4.18.0\n') });
    expect(resolved.siteConfig.explorer.max_batch_size).toBe(3000);
    expect(JSON.parse(resolved.siteConfig.basic.themes)).toHaveProperty(['#1976d2']);
  });

  it.each([
    ['site_config:\n  login: { login_captcha: "yes" }\n', /site\.yaml: site_config\.login\.login_captcha is "yes"\. Use true or false\./],
    ['site_config:\n  basic: { titel: x }\n', /site_config\.basic\.titel is "x"\. Known keys: title, /],
    ['site_config:\n  vas: {}\n', /site_config\.vas is \{\}\. Known sections: basic, login, explorer, thumb, emojis, app\./],
    ['site_config:\n  basic: { themes: "not json" }\n', /site_config\.basic\.themes is "not json"\. Use JSON text of an object/],
    ['site_config:\n  basic: { captcha_type: hcaptcha }\n', /captcha_type is "hcaptcha"\. Use one of: normal, recaptcha, turnstile, cap\./],
    ['site_config:\n  explorer: { max_batch_size: -1 }\n', /max_batch_size is -1\. Use a whole number, 0 or more\./],
    ['site_config:\n  explorer: { file_viewers: [{ viewers: [{ id: a }] }] }\n', /file_viewers\[0\]\.viewers\[0\]\.type is undefined\. It is required\./],
  ])('refuses a bad site.yaml value at start, naming the file and key (%#)', (text, message) => {
    const fixtures = fixturesWithSite(text);
    expect(() => resolveOptions({ fixtures })).toThrow(message);
    expect(() => resolveOptions({ fixtures })).toThrow(path.join(fixtures, 'site.yaml'));
  });

  it('refuses a bad siteConfig option, naming the key', () => {
    expect(() => resolveOptions({ siteConfig: { explorer: { icons: 5 } } })).toThrow('Invalid option: siteConfig.explorer.icons is 5. Use an array (or its JSON text).');
  });
});

describe('GET /session/prepare', () => {
  it('answers both sign-in flags, in order (A7)', async () => {
    const sim = testSimulator();
    for (const query of ['email=alice@cloudreve.org', 'email=alice%40cloudreve.org', 'email=ALICE@Cloudreve.ORG']) {
      const res = await request(sim.app).get(`${API}/session/prepare?${query}`);
      expect(res.text).toBe('{"code":0,"data":{"webauthn_enabled":false,"password_enabled":true},"msg":""}');
    }
  });

  it('does not check the account status (banned and inactive fail later, at sign-in)', async () => {
    const sim = testSimulator();
    for (const who of ['banned', 'inactive'] as const) {
      const res = await request(sim.app).get(`${API}/session/prepare?email=${ACCOUNTS[who].email}`);
      expect(res.body).toEqual({ code: 0, data: { webauthn_enabled: false, password_enabled: true }, msg: '' });
    }
  });

  it('answers 404 "User not found" for an unknown email (A7)', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get(`${API}/session/prepare?email=nobody@cloudreve.org`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: 404, msg: 'User not found', correlation_id: CID });
    expect(Object.keys(res.body)).toEqual(['code', 'msg', 'correlation_id']);
  });

  it.each([
    ['', 'Email cannot be empty'],
    ['?email=', 'Email cannot be empty'],
    ['?mail=alice@cloudreve.org', 'Email cannot be empty'],
    ['?email=x', 'Email format error'],
    ['?email=alice', 'Email format error'],
  ])('binding: %j → "%s", without correlation_id (A7)', async (query, msg) => {
    const sim = testSimulator();
    const res = await request(sim.app).get(`${API}/session/prepare${query}`);
    expect(res.body).toEqual({ code: 40001, msg });
  });

  it('still applies the token rules: a refresh token → 40020', async () => {
    const sim = testSimulator();
    const { refresh } = await signIn(sim, 'alice');
    const res = await request(sim.app).get(`${API}/session/prepare?email=alice@cloudreve.org`).set('Authorization', `Bearer ${refresh}`);
    expect(res.body).toEqual({ code: 40020, msg: 'Invalid token type', correlation_id: CID });
  });
});

/** Bytes of the files of a fixture drive (the `.keep` markers are not copied). */
function fixtureDriveSize(email: string): number {
  const walk = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return sum + walk(p);
      return e.name === '.keep' ? sum : sum + statSync(p).size;
    }, 0);
  return walk(path.join(import.meta.dirname, '../../fixtures/drive', email));
}

describe('GET /user/capacity', () => {
  it("answers the group's quota and the drive's usage, exactly these keys in order (A8)", async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.get('/user/capacity');
    expect(res.text).toBe(`{"code":0,"data":{"total":16777216,"used":${fixtureDriveSize(ACCOUNTS.alice.email)}},"msg":""}`);
  });

  it.each([
    ['admin', 1024 ** 4],
    ['user', 1024 ** 3],
    ['carol', 16 * 1024 ** 2],
  ] as const)('%s: total %d', async (who, total) => {
    const sim = testSimulator();
    const res = await (await as(sim, who)).get('/user/capacity');
    expect(res.body).toEqual({ code: 0, data: { total, used: fixtureDriveSize(ACCOUNTS[who].email) }, msg: '' });
  });

  it('follows the real drive: an archive task adds its zip to `used`', async () => {
    const sim = testSimulator({ profile: 'instant' });
    const alice = await as(sim, 'alice');
    const before = (await alice.get('/user/capacity')).body.data.used;
    expect((await alice.archive(['cloudreve://my/docs'], 'cloudreve://my/docs.zip')).code).toBe(0);
    await sim.clock.runUntilIdle();
    const zip = sim.drive.stat(ACCOUNTS.alice.id, ['docs.zip']);
    expect(zip?.kind).toBe('file');
    expect((await alice.get('/user/capacity')).body.data).toEqual({ total: 16777216, used: before + zip!.size });
  });

  it('needs a login: 401 "Login required" (A8)', async () => {
    const sim = testSimulator();
    const res = await request(sim.app).get(`${API}/user/capacity`);
    expect(res.body).toEqual({ code: 401, msg: 'Login required', correlation_id: CID });
  });
});

describe('GET /user/avatar/:id', () => {
  it('answers HTTP 404 with an empty body for a user without an avatar, cacheable (A9)', async () => {
    const sim = testSimulator();
    for (const id of [ACCOUNTS.alice.id, ACCOUNTS.admin.id, ACCOUNTS.banned.id]) {
      const res = await request(sim.app).get(`${API}/user/avatar/${sim.ids.encode('user', id)}`);
      expect(res.status).toBe(404);
      expect(res.text).toBe('');
      expect(res.headers['content-type']).toBeUndefined();
      expect(res.headers['cache-control']).toBe('public, max-age=86400');
    }
  });

  it('answers the same to a signed-in caller', async () => {
    const sim = testSimulator();
    const res = await (await as(sim, 'alice')).get(`/user/avatar/${sim.ids.encode('user', ACCOUNTS.carol.id)}`);
    expect(res.status).toBe(404);
    expect(res.text).toBe('');
  });

  it.each([
    ['true', 'private, no-cache'],
    ['1', 'private, no-cache'],
    ['t', 'private, no-cache'],
    ['TRUE', 'private, no-cache'],
    ['True', 'private, no-cache'],
    ['false', 'public, max-age=86400'],
    ['0', 'public, max-age=86400'],
    ['F', 'public, max-age=86400'],
    ['', 'public, max-age=86400'],
  ])('nocache=%s → Cache-Control %s', async (value, cacheControl) => {
    const sim = testSimulator();
    const res = await request(sim.app).get(`${API}/user/avatar/${sim.ids.encode('user', 3)}?nocache=${value}`);
    expect(res.status).toBe(404);
    expect(res.headers['cache-control']).toBe(cacheControl);
  });

  it.each(['yes', 'tRUE', '2', 'on'])('binding: nocache=%s → "Parameter error", without correlation_id', async (value) => {
    const sim = testSimulator();
    const res = await request(sim.app).get(`${API}/user/avatar/${sim.ids.encode('user', 3)}?nocache=${value}`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('private, no-cache');
    expect(res.body).toEqual({ code: 40001, msg: 'Parameter error' });
  });

  it('answers 40001 "Failed to parse object ID" for an id that is not a user hashid, before binding (A9)', async () => {
    const sim = testSimulator();
    for (const id of ['zz!', sim.ids.encode('task', 3), sim.ids.encode('group', 3), `${sim.ids.encode('user', 3)}x`]) {
      for (const query of ['', '?nocache=yes']) {
        const res = await request(sim.app).get(`${API}/user/avatar/${encodeURIComponent(id)}${query}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ code: 40001, msg: 'Failed to parse object ID', correlation_id: CID });
      }
    }
  });

  it('answers 40021 with an empty message for an unknown user, after binding', async () => {
    const sim = testSimulator();
    for (const id of [0, 99]) {
      const res = await request(sim.app).get(`${API}/user/avatar/${sim.ids.encode('user', id)}`);
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe('private, no-cache');
      expect(res.text).toMatch(/^\{"code":40021,"msg":"","correlation_id":"[0-9a-f-]{36}"\}$/);
    }
    const bad = await request(sim.app).get(`${API}/user/avatar/${sim.ids.encode('user', 99)}?nocache=yes`);
    expect(bad.body).toEqual({ code: 40001, msg: 'Parameter error' });
  });

  it('is journaled with its HTTP status and no envelope', async () => {
    const sim = testSimulator();
    await request(sim.app).get(`${API}/user/avatar/${sim.ids.encode('user', 3)}`);
    const [entry] = sim.journal.entries({ path: `${API}/user/avatar/*` });
    expect(entry).toMatchObject({ method: 'GET', status: 404, code: null });
  });
});
