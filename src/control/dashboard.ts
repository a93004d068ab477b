/**
 * @module control/dashboard
 * The live task dashboard (`GET /__sim/ui`): one self-contained page, `dashboard.html` beside this module
 * (inline CSS and script, no framework, no requests beyond /__sim). It is served with a
 * Content-Security-Policy that allows exactly its own script and nothing from elsewhere.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Beside this module: `src/control/` when run from source, `dist/control/` when built (the build
 * copies it). Named through the folder, so that the CLI's bundle (`dist/bundle/`) finds it too.
 */
export const DASHBOARD_FILE = fileURLToPath(new URL('../control/dashboard.html', import.meta.url));

export interface DashboardPage {
  html: string;
  /** The Content-Security-Policy header value: the page's script by hash, its styles, /__sim only. */
  csp: string;
}

/** Reads the page and builds its policy. Throws when the page has not exactly one inline script. */
export function loadDashboard(file = DASHBOARD_FILE): DashboardPage {
  const html = readFileSync(file, 'utf8');
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)];
  if (scripts.length !== 1) throw new Error(`${file} must hold exactly one inline <script>, found ${scripts.length}.`);
  const hash = createHash('sha256').update(scripts[0]![1]!, 'utf8').digest('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${hash}'`,
    "style-src 'unsafe-inline'",
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
