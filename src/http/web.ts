/**
 * @module http/web
 * A built web frontend on the API's origin (`--web`), as the real server serves its embedded
 * one: static files, `index.html` with the site's placeholders filled in for `/` and for every
 * other page path (the app routes on the client), and `/manifest.json` built from the site's
 * PWA settings. Also the CORS answers for a frontend served from another origin (`--cors`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

/**
 * What the real server fills into `index.html` and the manifest, from its settings: a fresh
 * install's values (`siteName`, the `pwa_*` icons and colours), except the description, which
 * names the simulator. The icons are files of the official frontend build. The name is the
 * site title (`basic.title` of the site config) when one is given.
 */
export const WEB_SITE = {
  name: 'Cloudreve',
  description: 'Cloudreve Workflow Simulator',
  script: '',
  smallIcon: '/static/img/favicon.ico',
  mediumIcon: '/static/img/logo192.png',
  largeIcon: '/static/img/logo512.png',
  display: 'standalone',
  themeColor: '#000000',
  backgroundColor: '#ffffff',
} as const;

/** The placeholders of the frontend's `index.html` and their values. */
export function indexPlaceholders(name: string = WEB_SITE.name): Readonly<Record<string, string>> {
  return {
    '{siteName}': name,
    '{siteDes}': WEB_SITE.description,
    '{siteScript}': WEB_SITE.script,
    '{pwa_small_icon}': WEB_SITE.smallIcon,
    '{pwa_medium_icon}': WEB_SITE.mediumIcon,
  };
}

/** `index.html` with every placeholder replaced. */
export function fillIndex(html: string, name: string = WEB_SITE.name): string {
  const values = indexPlaceholders(name);
  return html.replace(/\{(?:siteName|siteDes|siteScript|pwa_small_icon|pwa_medium_icon)\}/g, (m) => values[m] ?? m);
}

/** The web app manifest, keys sorted as the server's JSON encoder writes a map. */
export function webManifest(name: string = WEB_SITE.name) {
  return {
    background_color: WEB_SITE.backgroundColor,
    display: WEB_SITE.display,
    icons: [
      { sizes: '64x64 32x32 24x24 16x16', src: WEB_SITE.smallIcon, type: 'image/x-icon' },
      { sizes: '192x192', src: WEB_SITE.mediumIcon, type: 'image/png' },
      { sizes: '512x512', src: WEB_SITE.largeIcon, type: 'image/png' },
    ],
    name,
    short_name: name,
    start_url: '.',
    theme_color: WEB_SITE.themeColor,
  };
}

/** Paths the frontend never answers, in any case: the API and the control plane keep their own 404s. */
const NOT_WEB = /^\/(?:api|__sim)(?:\/|$)/i;

/** A request path as the file server resolves it: decoded, dot segments removed. */
function normalized(p: string): string {
  try {
    return path.posix.normalize(decodeURIComponent(p));
  } catch {
    return p;
  }
}

/** Hashed build output (`/assets/index-BDKOyYQX.js`) never changes under its name. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Serves the frontend in `dir` (checked by the options: a folder with `index.html`). Only GET
 * and HEAD outside /api and /__sim; anything else falls through to the app's 404.
 */
export function webRouter(dir: string, name: string = WEB_SITE.name): RequestHandler {
  const statics = express.static(dir, {
    index: false,
    redirect: false,
    fallthrough: true,
    setHeaders(res, file) {
      const rel = path.relative(dir, file).split(path.sep);
      res.setHeader('Cache-Control', rel[0] === 'assets' ? IMMUTABLE : 'public, max-age=0, must-revalidate');
    },
  });
  const index = async (res: Response, head: boolean): Promise<void> => {
    // Read on every request, so a rebuilt frontend shows without a restart.
    const body = Buffer.from(fillIndex(await readFile(path.join(dir, 'index.html'), 'utf8'), name));
    res.status(200);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Length', body.length);
    res.end(head ? undefined : body);
  };

  return function web(req: Request, res: Response, next: NextFunction) {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_WEB.test(req.path)) return next();
    const head = req.method === 'HEAD';
    // The raw index.html is never served, however its path is spelled (`/static/%2e%2e%2findex.html`).
    if (['/', '/index.html'].includes(normalized(req.path))) return void index(res, head).catch(next);
    if (req.path === '/manifest.json') {
      const body = Buffer.from(JSON.stringify(webManifest(name)));
      res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', body.length);
      return void res.end(head ? undefined : body);
    }
    statics(req, res, (err?: unknown) => (err ? next(err) : index(res, head).catch(next)));
  };
}

/** Methods a preflight is told the API accepts. */
const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';

/**
 * CORS for /api/v4: an allowed `Origin` is echoed with credentials allowed; a preflight
 * (`OPTIONS` with `Access-Control-Request-Method`) from one gets 204 with the methods and the
 * requested headers. Anything else passes on unchanged (so OPTIONS stays a 404).
 */
export function corsMiddleware(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return function cors(req, res, next) {
    res.append('Vary', 'Origin');
    const origin = req.get('Origin');
    if (origin === undefined || !(any || allowed.has(origin))) return next();
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (req.method !== 'OPTIONS' || req.get('Access-Control-Request-Method') === undefined) return next();
    res.append('Vary', ['Access-Control-Request-Method', 'Access-Control-Request-Headers']);
    res.setHeader('Access-Control-Allow-Methods', ALLOW_METHODS);
    const asked = req.get('Access-Control-Request-Headers');
    if (asked) res.setHeader('Access-Control-Allow-Headers', asked);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}
