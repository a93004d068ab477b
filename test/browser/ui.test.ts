/**
 * The official Cloudreve web UI against the simulator, in Debian's chromium (playwright-core):
 * sign in, browse, create an archive, extract a GB18030 zip, start a multi-file download and
 * deselect a file, watch the tasks finish on the virtual clock, check the dashboard, then
 * make a folder, upload a zip into it, extract it, download a file and delete the zip.
 * Screenshots of every step go to test-artifacts/ui/ (or CLOUDREVE_SIM_SCREENSHOTS).
 */
import { mkdirSync, readFileSync } from 'node:fs';
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

/** The zip uploaded through the upload dialog: the fixture with UTF-8 names. */
const ZIP = readFileSync(fileURLToPath(new URL('../../fixtures/archives/utf8.zip', import.meta.url)));
const ADMIN = 1;

const SHOTS = process.env.CLOUDREVE_SIM_SCREENSHOTS ?? fileURLToPath(new URL('../../test-artifacts/ui', import.meta.url));

describe.skipIf(skip !== undefined)('the official web UI against the simulator', () => {
  let sim: Simulator;
  let url: string;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  let step = 0;
  const shot = async (name: string) => page.screenshot({ path: path.join(SHOTS, `${String(++step).padStart(2, '0')}-${name}.png`) });
  /** Waits, without a fixed delay, until the page runs no animation (menus and dialogs have faded in). */
  const settled = () => page.waitForFunction('document.getAnimations().every((a) => a.playState !== "running")');
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
    await settled(); // the list's fade-in, for the screenshot
    await shot('files');
    const names = await page.locator('body').innerText();
    expect(names).not.toMatch(/\.txt/); // the deselected text file was not stored
    expect(sim.drive.children(ADMIN, ['archives', 'Holiday'])!.map((n) => n.name)).toEqual(['extras', expect.stringMatching(/\.mkv$/)]);
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

  it('creates a folder and uploads a zip into it through the upload dialog', async () => {
    await page.goto(`${url}/home`);
    await page.getByText('hello.txt').first().waitFor();
    await page.getByRole('button', { name: 'New' }).click();
    await page.getByRole('menuitem', { name: 'New folder' }).click();
    await page.getByRole('dialog').locator('input').first().fill('uploads');
    const created = page.waitForResponse((r) => r.url().endsWith('/api/v4/file/create'));
    await page.getByRole('dialog').getByRole('button', { name: 'OK' }).click();
    expect(await (await created).json()).toMatchObject({ code: 0, data: { type: 1, name: 'uploads', path: 'cloudreve://my/uploads' } });
    await page.getByText('uploads').first().dblclick();
    await page.waitForURL((u) => u.searchParams.get('path') === 'cloudreve://my/uploads');

    await page.getByRole('button', { name: 'New' }).click();
    const chooser = page.waitForEvent('filechooser');
    const session = page.waitForResponse((r) => r.url().endsWith('/api/v4/file/upload') && r.request().method() === 'PUT');
    const chunk = page.waitForResponse((r) => /\/api\/v4\/file\/upload\/[0-9a-f-]{36}\/0$/.test(r.url()));
    await page.getByRole('menuitem', { name: 'Upload files' }).click();
    await (await chooser).setFiles({ name: 'bundle.zip', mimeType: 'application/zip', buffer: ZIP });
    const opened = await (await session).json();
    expect(opened).toMatchObject({ code: 0, data: { uri: 'cloudreve://my/uploads/bundle.zip', chunk_size: 26214400, storage_policy: { type: 'local' } } });
    expect(await (await chunk).json()).toEqual({ code: 0, msg: '' });
    await page.getByText('Uploaded').first().waitFor();
    await shot('uploaded');
    await page.keyboard.press('Escape');
    expect(readFileSync(sim.drive.diskPath(ADMIN, ['uploads', 'bundle.zip'])).equals(ZIP)).toBe(true);
    expect(sim.drive.metadataOf(sim.drive.stat(ADMIN, ['uploads', 'bundle.zip'])!)).toEqual({});
  }, 60_000);

  it('extracts the uploaded zip from the context menu into its folder', async () => {
    await page.getByText('bundle.zip').first().click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Extract archive' }).click();
    const created = page.waitForResponse((r) => r.url().endsWith('/api/v4/workflow/extract'));
    await page.getByRole('dialog').getByRole('button', { name: 'OK' }).click();
    const res = await created;
    expect(JSON.parse(res.request().postData() ?? '{}')).toEqual({ src: ['cloudreve://my/uploads/bundle.zip'], dst: 'cloudreve://my/uploads' });
    expect(await res.json()).toMatchObject({ code: 0, data: { type: 'extract_archive', status: 'queued' } });
    const idle = await fetch(`${url}/__sim/clock/run-until-idle`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(idle.status).toBe(200);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByText('Ünïcødé.txt').first().waitFor();
    await shot('uploaded-extracted');
    expect(sim.drive.children(ADMIN, ['uploads'])!.map((n) => n.name).sort()).toEqual(['bundle.zip', 'docs', 'empty', 'Ünïcødé.txt', '中文'].sort());
  }, 60_000);

  it('downloads an extracted file from the context menu: the same bytes, under its own name', async () => {
    await page.getByText('Ünïcødé.txt').first().click({ button: 'right' });
    const download = page.waitForEvent('download');
    const signed = page.waitForResponse((r) => r.url().endsWith('/api/v4/file/url'));
    await page.getByRole('menuitem', { name: 'Download', exact: true }).click();
    expect(JSON.parse((await signed).request().postData() ?? '{}')).toEqual({ uris: ['cloudreve://my/uploads/%C3%9Cn%C3%AFc%C3%B8d%C3%A9.txt'], download: true });
    const file = await download;
    expect(file.suggestedFilename()).toBe('Ünïcødé.txt');
    const got = readFileSync((await file.path())!);
    expect(got.equals(readFileSync(sim.drive.diskPath(ADMIN, ['uploads', 'Ünïcødé.txt'])))).toBe(true);
    expect(got.toString()).toBe('Ünïcødé content\n');
  }, 60_000);

  it('deletes the zip to the trash, telling how long the trash keeps it; the trash page lists it', async () => {
    await page.getByText('bundle.zip').first().click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('7 days').waitFor(); // the Admin group's trash_retention (604800 s)
    await settled();
    await shot('delete-dialog');
    const deleted = page.waitForResponse((r) => r.url().endsWith('/api/v4/file') && r.request().method() === 'DELETE');
    await dialog.getByRole('button', { name: 'OK' }).click();
    const res = await deleted;
    expect(JSON.parse(res.request().postData() ?? '{}')).toEqual({ uris: ['cloudreve://my/uploads/bundle.zip'], unlink: false, skip_soft_delete: false });
    expect(await res.json()).toEqual({ code: 0, msg: '' });
    await expect.poll(async () => page.getByText('bundle.zip').count()).toBe(0);
    await page.getByText('Trash', { exact: true }).first().click();
    await page.getByText('bundle.zip').first().waitFor();
    await shot('trash');
    expect(sim.drive.trashItems(ADMIN).map((i) => i.node.name)).toEqual(['bundle.zip']);
  }, 60_000);

  it('logged no console errors from the app but the upstream "Invalid cloudreve uri" and the avatar 404s', () => {
    const unexpected = errors.filter((e) => !e.startsWith('Error: Invalid cloudreve uri') && !/status of 404 .* @ .*\/api\/v4\/user\/avatar\//.test(e));
    expect(unexpected).toEqual([]);
  });
});
