/**
 * The official Cloudreve web UI against the simulator, in Debian's chromium (playwright-core):
 * sign in, browse, create an archive, extract a GB18030 zip, start a multi-file download and
 * deselect a file, watch the tasks finish on the virtual clock, and check the dashboard.
 * Screenshots of every step go to test-artifacts/ui/ (or CLOUDREVE_SIM_SCREENSHOTS).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/index.js';
import { ensureChromium, findWebUi } from './setup.js';

const ui = findWebUi();
const browserPath = 'dir' in ui ? ensureChromium() : { skip: ui.skip };
const skip = 'skip' in ui ? ui.skip : 'skip' in browserPath ? browserPath.skip : undefined;
if (skip) console.warn(`Browser test skipped: ${skip}`);

/** A torrent nobody declared: three synthesized files, named by faker from the seed. */
const MAGNET = 'magnet:?xt=urn:btih:d1d2d3d4d5d6d7d8d9d0d1d2d3d4d5d6d7d8d9d0&dn=Holiday';

const SHOTS = process.env.CLOUDREVE_SIM_SCREENSHOTS ?? fileURLToPath(new URL('../../test-artifacts/ui', import.meta.url));

describe.skipIf(skip !== undefined)('the official web UI against the simulator', () => {
  let sim: Simulator;
  let url: string;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  let step = 0;
  const shot = async (name: string) => page.screenshot({ path: path.join(SHOTS, `${String(++step).padStart(2, '0')}-${name}.png`) });
  const advance = async (ms: number) => {
    const res = await fetch(`${url}/__sim/clock/advance`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ms }) });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // The UI checks token expiry against the browser's own clock: start virtual time at the wall clock's.
    sim = createSimulator({ seed: 'ui', clock: 'virtual', startTime: Date.now(), profile: { base: 'realistic', downloadBytesPerSec: 64 * 1024 }, web: (ui as { dir: string }).dir, logLevel: 'silent' });
    url = await sim.listen(0, '127.0.0.1');
    browser = await chromium.launch({ executablePath: (browserPath as { executable: string }).executable, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${m.text()} @ ${m.location().url}`);
    });
    page.on('pageerror', (e) => errors.push(String(e)));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await sim?.close();
  });

  it('signs in with the default admin account and lists the drive', async () => {
    await page.goto(`${url}/`);
    await page.locator('input#email').fill('admin@cloudreve.org');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.locator('input#password').fill('admin');
    await shot('sign-in');
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL((u) => u.pathname === '/home');
    await page.getByText('hello.txt').first().waitFor();
    await shot('home');
  }, 60_000);

  it('creates an archive from the context menu', async () => {
    await page.getByText('hello.txt').first().click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'More actions' }).hover();
    await page.getByRole('menuitem', { name: 'Create archive file' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input').first().fill('from-ui.zip');
    await shot('archive-dialog');
    const created = page.waitForResponse((r) => r.url().endsWith('/api/v4/workflow/archive'));
    await dialog.getByRole('button', { name: 'OK' }).click();
    expect(await (await created).json()).toMatchObject({ code: 0, data: { type: 'create_archive', status: 'queued' } });
    await shot('archive-created');
  }, 60_000);

  it('extracts a GB18030 zip, choosing the encoding in the dialog', async () => {
    await page.getByText('archives').first().dblclick();
    await page.getByText('gb18030.zip').first().waitFor();
    await page.getByText('gb18030.zip').first().click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Extract archive' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('combobox').click();
    await page.getByRole('option', { name: /gb18030/i }).first().click();
    await shot('extract-dialog');
    const created = page.waitForResponse((r) => r.url().endsWith('/api/v4/workflow/extract'));
    await dialog.getByRole('button', { name: 'OK' }).click();
    const res = await created;
    expect(JSON.parse(res.request().postData() ?? '{}')).toMatchObject({ encoding: expect.stringMatching(/gb18030/i) });
    expect(await res.json()).toMatchObject({ code: 0, data: { type: 'extract_archive', status: 'queued' } });
  }, 60_000);

  it('starts a remote download of a multi-file torrent', async () => {
    await page.getByRole('button', { name: 'New' }).click();
    await page.getByRole('menuitem', { name: 'New remote download' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('textarea').first().fill(MAGNET);
    await shot('download-dialog');
    const created = page.waitForResponse((r) => r.url().endsWith('/api/v4/workflow/download'));
    await dialog.getByRole('button', { name: 'OK' }).click();
    expect(await (await created).json()).toMatchObject({ code: 0, data: [{ type: 'remote_download', status: 'queued' }] });
  }, 60_000);

  it('opens the progress popover of a running archive task', async () => {
    await advance(6_000); // the archive is compressing; the download is polling in monitor
    await page.goto(`${url}/tasks`);
    await page.getByText('from-ui.zip').first().click();
    await page.getByText('Task progress').waitFor();
    const progress = page.waitForResponse((r) => r.url().includes('/api/v4/workflow/progress/'));
    await page.getByText('Create archive to temporary workspace.').click();
    expect(await (await progress).json()).toMatchObject({ code: 0, data: { archive_count: expect.any(Object), archive_size: expect.any(Object) } });
    await page.getByText('Processed file size').waitFor();
    await shot('progress-popover');
  }, 60_000);

  it('deselects a file of the download while it is in monitor', async () => {
    await page.goto(`${url}/downloads`);
    await page.getByText('Holiday').first().click();
    await page.getByText('File list').waitFor();
    await shot('download-files');
    // Switches: the page's auto-refresh first, then one per file; the third file is the text file.
    await page.locator('input[type=checkbox]').nth(3).click();
    const patched = page.waitForResponse((r) => r.request().method() === 'PATCH');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const res = await patched;
    expect(JSON.parse(res.request().postData() ?? '{}')).toEqual({ files: [{ index: 3, download: false }] });
    expect(await res.json()).toEqual({ code: 0, msg: '' });
    await shot('download-deselected');
  }, 60_000);

  it('watches both tasks and the download reach completed on the Tasks and Downloads pages', async () => {
    const res = await fetch(`${url}/__sim/clock/run-until-idle`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    await page.goto(`${url}/tasks`);
    await expect.poll(async () => page.getByText('Finished', { exact: true }).count()).toBe(2);
    await shot('tasks-finished');
    await page.goto(`${url}/downloads`);
    await page.getByText('Holiday').first().waitFor();
    await expect.poll(async () => (await page.locator('body').innerText()).includes('No records.')).toBe(true); // nothing active
    await shot('downloads-finished');
  }, 60_000);

  it('shows the produced files in the file browser', async () => {
    await page.goto(`${url}/home`);
    await page.getByText('from-ui.zip').first().waitFor();
    await page.getByText('archives').first().dblclick();
    await page.getByText('中文目录').first().waitFor(); // the GB18030 names, decoded
    await page.getByText('Holiday').first().dblclick();
    await page.getByText('.mkv').first().waitFor();
    await page.waitForTimeout(500); // let the list's fade-in finish for the screenshot
    await shot('files');
    const names = await page.locator('body').innerText();
    expect(names).not.toMatch(/\.txt/); // the deselected text file was not stored
    const admin = 1;
    expect(sim.drive.children(admin, ['archives', 'Holiday'])!.map((n) => n.name)).toEqual(['extras', expect.stringMatching(/\.mkv$/)]);
  }, 60_000);

  it('loads the dashboard, which shows the same tasks', async () => {
    const tasks = (await (await fetch(`${url}/__sim/tasks`)).json()) as { tasks: Array<{ id: string; type: string; status: string }> };
    expect(tasks.tasks.map((t) => [t.type, t.status])).toEqual([
      ['remote_download', 'completed'],
      ['extract_archive', 'completed'],
      ['create_archive', 'completed'],
    ]);
    // The UI's service worker answers page loads outside /api/ itself: the dashboard's alias is under /api/.
    await page.goto(`${url}/api/__sim/ui`);
    const rows = page.locator('#task-rows tr');
    await expect.poll(async () => rows.count()).toBe(3);
    const text = await page.locator('#task-rows').innerText();
    for (const t of tasks.tasks) expect(text).toContain(t.id);
    expect(text.match(/completed/g)?.length).toBe(3);
    await shot('dashboard');
  }, 60_000);

  it('logged no console errors from the app but the upstream "Invalid cloudreve uri" and the avatar 404s', () => {
    const unexpected = errors.filter((e) => !e.startsWith('Error: Invalid cloudreve uri') && !/status of 404 .* @ .*\/api\/v4\/user\/avatar\//.test(e));
    expect(unexpected).toEqual([]);
  });
});
