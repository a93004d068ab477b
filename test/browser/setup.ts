/**
 * What the browser tests need from the machine: Debian's chromium (installed with apt-get when
 * missing and allowed) and a built Cloudreve web frontend. Either answers a path, or the reason
 * the browser tests are skipped.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where a built frontend may be: CLOUDREVE_SIM_WEB_UI, else the shared build beside the repository. */
export function findWebUi(): { dir: string } | { skip: string } {
  const candidates = [process.env.CLOUDREVE_SIM_WEB_UI, path.join(ROOT, '..', 'shared', 'cloudreve-web', 'dist'), '/work/shared/cloudreve-web/dist'].filter(
    (d): d is string => !!d,
  );
  const dir = candidates.find((d) => existsSync(path.join(d, 'index.html')));
  return dir ? { dir } : { skip: `no built Cloudreve web UI (looked in ${candidates.join(', ')}; set CLOUDREVE_SIM_WEB_UI)` };
}

const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** Debian's chromium: found, or installed with apt-get when running as root; otherwise a reason to skip. */
export function ensureChromium(): { executable: string } | { skip: string } {
  const given = process.env.CLOUDREVE_SIM_CHROMIUM;
  if (given) return existsSync(given) ? { executable: given } : { skip: `CLOUDREVE_SIM_CHROMIUM=${given} does not exist` };
  const found = () => CHROMIUM_PATHS.find((p) => existsSync(p));
  let executable = found();
  if (executable) return { executable };
  if (process.getuid?.() !== 0) return { skip: 'chromium is not installed and installing it needs root (apt-get install chromium)' };
  const apt = (args: string[]) => spawnSync('apt-get', args, { stdio: 'ignore', timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const update = apt(['update', '-qq']);
  const install = update.status === 0 ? apt(['install', '-y', '-qq', 'chromium']) : update;
  executable = found();
  if (executable) return { executable };
  return { skip: `chromium could not be installed (apt-get exited with ${install.status ?? install.error?.message})` };
}
