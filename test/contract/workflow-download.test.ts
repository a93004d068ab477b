/**
 * Remote downloads (spec §10): creation checks, the simulated downloader's lifecycle on the
 * virtual clock, select (PATCH) and cancel (DELETE). Default `realistic` profile: pick-up 2 s,
 * polls every 1 s, 4 MiB/s; a URL path with /slow downloads at 16 KiB/s.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contentStream } from '../../src/remote/downloader.js';
import { ACCOUNTS, as, testSimulator, UUID_V4 } from '../helpers.js';

const cid = expect.stringMatching(UUID_V4);
const ALICE = ACCOUNTS.alice.id;
const DL = 'cloudreve://my/Downloads';
const SLOW = 'https://example.com/slow/big.iso';

async function bytesOf(seed: string, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of contentStream(seed, size)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('POST /workflow/download: checks, in the server order', () => {
  it('refuses a group without remote download with 40007', async () => {
    const sim = testSimulator();
    const user = await as(sim, 'user');
    expect((await user.post('/workflow/download', { src: ['https://e.x/a'], dst: DL })).body).toEqual({ code: 40007, msg: 'Group not allowed to download files', correlation_id: cid });
  });

  it.each([[{ dst: DL }], [{ src: [], dst: DL }], [{ src_file: '', dst: DL }]])('answers 40001 "No source files" for %j', async (body) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/download', body)).body).toEqual({ code: 40001, msg: 'No source files', correlation_id: cid });
  });

  it('answers 40001 "Invalid source files" for both src and src_file', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/download', { src: ['https://e.x/a'], src_file: 'cloudreve://my/t.torrent', dst: DL })).body).toEqual({ code: 40001, msg: 'Invalid source files', correlation_id: cid });
  });

  it.each([
    ['/x', 40001],
    ['cloudreve://my/nope', 40016],
    ['cloudreve://trash', 403],
    ['cloudreve://nofs/x', 40001],
  ])('answers "Invalid destination" with the inherited code for dst %s', async (dst, code) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/download', { src: ['https://e.x/a'], dst })).body).toEqual({ code, msg: 'Invalid destination', correlation_id: cid });
  });

  it.each([[['https://e.x/a', 'https://e.x/b', 'https://e.x/c']], [['https://e.x/a', '', '']]])('answers {"code":40015,"msg":""} over the batch limit (empty strings count): %j', async (src) => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/download', { src, dst: DL })).body).toEqual({ code: 40015, msg: '', correlation_id: cid });
  });

  it('answers "Invalid source file uri" / "Invalid source file" for a bad or missing torrent file', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/download', { src_file: 'bad', dst: DL })).body).toEqual({ code: 40001, msg: 'Invalid source file uri', correlation_id: cid });
    expect((await alice.post('/workflow/download', { src_file: 'cloudreve://my/none.torrent', dst: DL })).body).toEqual({ code: 40016, msg: 'Invalid source file', correlation_id: cid });
  });

  it('creates one queued task per URL, in order, with props download:null, dst, failed, src, src_str', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/workflow/download', { src: ['https://e.x/a', 'magnet:?xt=urn:btih:abc&dn=x'], dst: DL });
    const task = (n: number, src_str: string) => ({
      created_at: '2025-05-20T04:00:00Z',
      updated_at: '2025-05-20T04:00:00Z',
      id: sim.ids.encode('task', n),
      status: 'queued',
      type: 'remote_download',
      summary: { props: { download: null, dst: DL, failed: 0, src: '', src_str } },
    });
    expect(res.body).toEqual({ code: 0, data: [task(1, 'https://e.x/a'), task(2, 'magnet:?xt=urn:btih:abc&dn=x')], msg: '' });
    expect(res.text).toContain('"props":{"download":null,"dst":"cloudreve://my/Downloads","failed":0,"src":"","src_str":"https://e.x/a"}');
    const listed = await alice.list('downloading', 25);
    expect(listed.tasks.map((t) => t.status)).toEqual(['queued', 'queued']);
    expect(listed.pagination.page_size).toBe(32765);
  });

  it('answers {"code":0,"data":[],"msg":""} when every URL is empty', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    expect((await alice.post('/workflow/download', { src: [''], dst: DL })).text).toBe('{"code":0,"data":[],"msg":""}');
  });

  it('creates a torrent task from src_file, with src = the URI and src_str ""', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const res = await alice.post('/workflow/download', { src_file: 'cloudreve://my/hello.txt', dst: DL });
    expect(res.body.data).toHaveLength(1);
    expect(res.body.data[0].summary.props).toEqual({ download: null, dst: DL, failed: 0, src: 'cloudreve://my/hello.txt', src_str: '' });
  });
});

describe('remote_download: the lifecycle', () => {
  it('goes monitor → transfer → seeding → completed, moves to downloaded, and stores the file byte for byte', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const url = 'https://example.com/files/a.iso';
    const { body } = await alice.post('/workflow/download', { src: [url], dst: DL });
    const id = body.data[0].id;
    const phases = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await sim.clock.advance(500);
      const t = (await alice.list('downloading', 25)).tasks.find((x) => x.id === id);
      if (!t) break;
      if (t.summary.phase) phases.add(t.summary.phase);
    }
    await sim.clock.runUntilIdle();
    expect([...phases]).toEqual(['monitor', 'transfer', 'seeding']);
    const done = (await alice.list('downloaded', 25)).tasks.find((x) => x.id === id);
    expect(done).toMatchObject({ status: 'completed', summary: { phase: 'seeding' } });
    expect((await alice.list('downloading', 25)).tasks).toEqual([]);
    const file = sim.drive.stat(ALICE, ['Downloads', 'a.iso'])!;
    const stored = readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'a.iso']));
    expect(stored.equals(await bytesOf(`${url}:1`, file.size))).toBe(true);
  });

  it('shows the download object in monitor: name, state, totals, speeds and files, without save_path', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.post('/workflow/download', { src: [SLOW], dst: DL });
    await sim.clock.advance(4_000); // first poll at 4 s, 2 s after the job started
    const t = (await alice.list('downloading', 25)).tasks[0];
    expect(t.summary.phase).toBe('monitor');
    const d = t.summary.props.download;
    expect(Object.keys(d)).toEqual(['name', 'state', 'total', 'downloaded', 'download_speed', 'uploaded', 'upload_speed', 'files']);
    expect(d).toMatchObject({ name: 'big.iso', state: 'downloading', downloaded: 32 * 1024, download_speed: 16 * 1024, uploaded: 0, upload_speed: 0 });
    expect(d.files).toEqual([{ index: 1, name: 'big.iso', size: d.total, progress: expect.any(Number), selected: true }]);
    expect((await alice.get(`/workflow/progress/${t.id}`)).body).toEqual({ code: 0, data: {}, msg: '' });
  });

  it('downloads a multi-file magnet into a folder, with pieces as a base64 bitfield', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const magnet = 'magnet:?xt=urn:btih:0123456789abcdef&dn=Holiday';
    await alice.post('/workflow/download', { src: [magnet], dst: DL });
    await sim.clock.advance(4_000);
    const d = (await alice.list('downloading', 25)).tasks[0].summary.props.download;
    expect(d.hash).toBe('0123456789abcdef');
    const bits = Buffer.from(d.pieces, 'base64');
    const have = Array.from({ length: d.num_pieces }, (_, i) => (bits[i >> 3]! >> (i % 8)) & 1);
    expect(have.every((b: number) => b === 1)).toBe(true);
    await sim.clock.runUntilIdle();
    const names = sim.drive.children(ALICE, ['Downloads', 'Holiday'])!.map((n) => n.name);
    expect(names).toEqual(['part-1.bin', 'part-2.bin', 'part-3.bin']);
    const size = sim.drive.stat(ALICE, ['Downloads', 'Holiday', 'part-2.bin'])!.size;
    expect(readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'Holiday', 'part-2.bin'])).equals(await bytesOf(`${magnet}:2`, size))).toBe(true);
  });

  it('ends in error when the source fails (downloader state error)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.post('/workflow/download', { src: ['https://gone.invalid/file.bin'], dst: DL });
    await sim.clock.runUntilIdle();
    const t = (await alice.list('downloaded', 25)).tasks[0];
    expect(t).toMatchObject({ status: 'error', error: 'download task failed with state "error" (non-retryable error), errorMsg: 404 Not Found' });
    expect(t.retry_count).toBeUndefined();
  });

  it('keeps a stalled source in monitor, polling, without progress', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.post('/workflow/download', { src: ['https://example.com/stall/x.bin'], dst: DL });
    await sim.clock.advance(60_000);
    const t = (await alice.list('downloading', 25)).tasks[0];
    expect(t.summary.phase).toBe('monitor');
    expect(t.summary.props.download).toMatchObject({ state: 'downloading', downloaded: 0 });
  });

  it('fails the first poll (critical) when the files exceed the capacity', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    // alice has 16 MiB: fill 15 of them, and the download no longer fits.
    const tmp = `${sim.dataDir}/filler`;
    const { writeFileSync, truncateSync } = await import('node:fs');
    writeFileSync(tmp, '');
    truncateSync(tmp, 15 * 1024 * 1024);
    sim.drive.commitFile(ALICE, ['filler.bin'], tmp);
    await alice.post('/workflow/download', { src: ['https://example.com/files/a.iso'], dst: DL });
    await sim.clock.runUntilIdle();
    const t = (await alice.list('downloaded', 25)).tasks[0];
    expect(t.status).toBe('error');
    expect(t.error).toMatch(/^failed to validate files: .*\(non-retryable error\)$/);
  });

  it('counts a transfer conflict in failed, retries, and fails after 5 retries', async () => {
    const sim = testSimulator({ profile: 'fast' });
    const alice = await as(sim, 'alice');
    await alice.post('/workflow/download', { src: ['https://example.com/files/hello.txt'], dst: 'cloudreve://my' });
    await sim.clock.runUntilIdle();
    const t = (await alice.list('downloaded', 25)).tasks[0];
    expect(t).toMatchObject({ status: 'error', retry_count: 5, summary: { phase: 'transfer', props: { failed: 1 } } });
    expect(t.error).toBe('failed to transfer 1 file(s), first 5 errors: hello.txt: failed to upload file: Object existed');
  });
});

describe('PATCH /workflow/download/:id', () => {
  it('answers the server’s 404s outside the monitoring loop, and 50005 for an unknown index', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const carol = await as(sim, 'carol');
    const admin = await as(sim, 'admin');
    const { body } = await alice.post('/workflow/download', { src: [SLOW], dst: DL });
    const id = body.data[0].id;
    const patch = (who: typeof alice, files: unknown) => who.patch(`/workflow/download/${id}`, { files });
    expect((await patch(alice, [])).body).toEqual({ code: 404, msg: 'Task not in processing state', correlation_id: cid });
    expect((await patch(carol, [])).body).toEqual({ code: 404, msg: 'Task not found', correlation_id: cid });
    expect((await patch(admin, [])).body).toEqual({ code: 404, msg: 'Task not found', correlation_id: cid });
    await sim.clock.advance(4_000); // in monitor
    expect((await patch(alice, [])).text).toBe('{"code":0,"msg":""}');
    expect((await patch(alice, [{ index: 1, download: false }])).text).toBe('{"code":0,"msg":""}');
    expect((await patch(alice, [{ index: 9, download: true }])).body).toEqual({ code: 50005, msg: 'Failed to set download files', correlation_id: cid });
    await sim.clock.advance(3_000); // the next poll shows the selection
    const d = (await alice.list('downloading', 25)).tasks[0].summary.props.download;
    expect(d.files[0].selected).toBe(false);
    expect(d.total).toBe(0);
    expect((await alice.patch(`/workflow/download/${sim.ids.encode('task', 99)}`, { files: [] })).body).toEqual({ code: 404, msg: 'Task not found', correlation_id: cid });
  });

  it('answers "Task not in monitoring loop" for a live extract task', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { body } = await alice.post('/workflow/extract', { src: ['cloudreve://my/archives/utf8.zip'], dst: 'cloudreve://my/extracted' });
    await sim.clock.advance(2_000);
    expect((await alice.patch(`/workflow/download/${body.data.id}`, { files: [] })).body).toEqual({ code: 404, msg: 'Task not in monitoring loop', correlation_id: cid });
  });
});

describe('DELETE /workflow/download/:id', () => {
  it('cancels a download in monitor at its next poll: canceled, phase monitor, moved to downloaded; again → 404', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { body } = await alice.post('/workflow/download', { src: [SLOW], dst: DL });
    const id = body.data[0].id;
    await sim.clock.advance(4_000);
    expect((await alice.delete(`/workflow/download/${id}`)).text).toBe('{"code":0,"msg":""}');
    expect((await alice.list('downloading', 25)).tasks.map((t) => t.id)).toEqual([id]); // still live
    await sim.clock.advance(3_000);
    expect((await alice.list('downloaded', 25)).tasks[0]).toMatchObject({ id, status: 'canceled', summary: { phase: 'monitor' } });
    expect((await alice.list('downloading', 25)).tasks).toEqual([]);
    expect((await alice.delete(`/workflow/download/${id}`)).body).toEqual({ code: 404, msg: 'Task not found', correlation_id: cid });
    expect(sim.drive.stat(ALICE, ['Downloads', 'big.iso'])).toBeUndefined();
  });

  it('answers 404 to another user, and succeeds without effect on the caller’s archive task', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const carol = await as(sim, 'carol');
    const dl = (await alice.post('/workflow/download', { src: [SLOW], dst: DL })).body.data[0].id;
    expect((await carol.delete(`/workflow/download/${dl}`)).body).toEqual({ code: 404, msg: 'Task not found', correlation_id: cid });
    const archive = await alice.archive(['cloudreve://my/notes.txt'], 'cloudreve://my/n.zip');
    expect((await alice.delete(`/workflow/download/${archive.data.id}`)).text).toBe('{"code":0,"msg":""}');
    await sim.clock.advance(20_000);
    expect((await alice.task(archive.data.id)).status).toBe('completed');
  });
});

describe('remote_download: .torrent files', () => {
  it('reads name, files, sizes and info hash from a torrent in the drive, and stores its files', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const { createHash } = await import('node:crypto');
    const bencode = (await import('bencode')).default;
    const raw = readFileSync(sim.drive.diskPath(ALICE, ['t.torrent']));
    const info = (bencode.decode(raw) as { info: unknown }).info;
    const hash = createHash('sha1').update(bencode.encode(info)).digest('hex');
    const { body } = await alice.post('/workflow/download', { src_file: 'cloudreve://my/t.torrent', dst: DL });
    expect(body.data[0].summary.props).toEqual({ download: null, dst: DL, failed: 0, src: 'cloudreve://my/t.torrent', src_str: '' });
    await sim.clock.advance(4_000);
    const d = (await alice.list('downloading', 25)).tasks[0]?.summary.props.download ?? (await alice.list('downloaded', 25)).tasks[0]?.summary.props.download;
    expect(d).toMatchObject({ name: 'Sample Torrent', hash, total: 301_000 });
    expect(d.files.map((f: { index: number; name: string; size: number }) => [f.index, f.name, f.size])).toEqual([
      [1, 'Sample Torrent/readme.txt', 1000],
      [2, 'Sample Torrent/media/clip.bin', 300_000],
    ]);
    await sim.clock.runUntilIdle();
    expect(sim.drive.stat(ALICE, ['Downloads', 'Sample Torrent', 'media', 'clip.bin'])?.size).toBe(300_000);
    const clip = readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'Sample Torrent', 'media', 'clip.bin']));
    expect(clip.equals(await bytesOf(`${hash}:2`, 300_000))).toBe(true);
  });

  it('fails the task (downloader error) for a src_file that is no torrent', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.post('/workflow/download', { src_file: 'cloudreve://my/notes.txt', dst: DL });
    await sim.clock.runUntilIdle();
    expect((await alice.list('downloaded', 25)).tasks[0]).toMatchObject({
      status: 'error',
      error: 'download task failed with state "error" (non-retryable error), errorMsg: invalid torrent file',
    });
  });
});

describe('remote_download: real sources on allowed hosts', () => {
  const serve = async () => {
    const http = await import('node:http');
    const body = Buffer.from('real bytes from a local server\n'.repeat(1000));
    const server = http.createServer((req, res) => {
      if (req.url === '/file.txt') {
        res.writeHead(200, { 'Content-Length': body.length });
        res.end(body);
      } else if (req.url === '/moved') {
        res.writeHead(302, { Location: '/file.txt' });
        res.end();
      } else {
        res.writeHead(404);
        res.end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    return { base: `http://127.0.0.1:${port}`, body, close: () => new Promise<void>((r) => server.close(() => r())) };
  };

  it('fetches a loopback URL for real (redirects followed) and stores its bytes', async () => {
    const srv = await serve();
    try {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      await alice.post('/workflow/download', { src: [`${srv.base}/moved`], dst: DL });
      await sim.clock.advance(4_000);
      const d = [...(await alice.list('downloading', 25)).tasks, ...(await alice.list('downloaded', 25)).tasks][0].summary.props.download;
      expect(d).toMatchObject({ name: 'moved', total: srv.body.length });
      await sim.clock.runUntilIdle();
      expect(readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'moved'])).equals(srv.body)).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('reports an HTTP error of a real source as the downloader’s error state', async () => {
    const srv = await serve();
    try {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      await alice.post('/workflow/download', { src: [`${srv.base}/missing`], dst: DL });
      await sim.clock.runUntilIdle();
      expect((await alice.list('downloaded', 25)).tasks[0]).toMatchObject({
        status: 'error',
        error: 'download task failed with state "error" (non-retryable error), errorMsg: 404 Not Found',
      });
    } finally {
      await srv.close();
    }
  });

  it('keeps hosts outside fetchAllow simulated (no request reaches them)', async () => {
    const srv = await serve();
    try {
      const sim = testSimulator({ fetchAllow: ['example.org'] });
      const alice = await as(sim, 'alice');
      await alice.post('/workflow/download', { src: [`${srv.base}/file.txt`], dst: DL });
      await sim.clock.runUntilIdle();
      const stored = readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'file.txt']));
      expect(stored.equals(srv.body)).toBe(false);
      expect(stored.equals(await bytesOf(`${srv.base}/file.txt:1`, stored.length))).toBe(true);
    } finally {
      await srv.close();
    }
  });
});

describe('remote_download: names and early cancels', () => {
  it.each([
    ['4.18.0', 'completed', 'a_b_c.txt'],
    ['4.0.0', 'error', undefined],
  ])('version %s: a name with characters a drive refuses is %s', async (version, status, stored) => {
    const sim = testSimulator({ version, profile: 'fast' });
    const alice = await as(sim, 'alice');
    await alice.post('/workflow/download', { src: ['https://example.com/files/a%3Ab%2Ac.txt'], dst: DL });
    await sim.clock.runUntilIdle();
    expect((await alice.list('downloaded', 25)).tasks[0].status).toBe(status);
    if (stored) expect(sim.drive.stat(ALICE, ['Downloads', stored])?.kind).toBe('file');
    else expect((await alice.list('downloaded', 25)).tasks[0].error).toContain('Invalid object name');
  });

  it('cancels without effect before the downloader job exists (still queued): the task carries on', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const id = (await alice.post('/workflow/download', { src: ['https://example.com/files/a.iso'], dst: DL })).body.data[0].id;
    expect((await alice.delete(`/workflow/download/${id}`)).text).toBe('{"code":0,"msg":""}');
    await sim.clock.runUntilIdle();
    expect((await alice.list('downloaded', 25)).tasks[0]).toMatchObject({ id, status: 'completed' });
  });
});

describe('remote_download: the fixtures catalogue (fixtures/remote/catalogue.yaml)', () => {
  it('serves a catalogued URL with the bytes of its fixture file', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.post('/workflow/download', { src: ['https://example.com/fixtures/hello.txt'], dst: DL });
    await sim.clock.runUntilIdle();
    const fixture = readFileSync(new URL('../../fixtures/remote/files/hello.txt', import.meta.url));
    expect(readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'hello.txt'])).equals(fixture)).toBe(true);
  });

  it('gives a catalogued URL its own rate, and a catalogued failure its message', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.post('/workflow/download', { src: ['https://example.com/fixtures/report.csv', 'https://example.com/missing.iso'], dst: DL });
    await sim.clock.advance(4_000);
    const live = (await alice.list('downloading', 25)).tasks.find((t) => t.summary.props.src_str.endsWith('report.csv'));
    expect(live.summary.props.download).toMatchObject({ name: 'report.csv', state: 'downloading', total: 200_000, downloaded: 131_072, download_speed: 65_536 });
    await sim.clock.runUntilIdle();
    const failed = (await alice.list('downloaded', 25)).tasks.find((t) => t.summary.props.src_str.endsWith('missing.iso'));
    expect(failed.error).toBe('download task failed with state "error" (non-retryable error), errorMsg: 404 Not Found');
  });

  it('declares a multi-file torrent for a catalogued magnet (matched by info hash)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.post('/workflow/download', { src: ['magnet:?xt=urn:btih:5F1C9D8E7B6A5F4E3D2C1B0A9F8E7D6C5B4A3F2E&dn=ignored'], dst: DL });
    await sim.clock.advance(2_000); // the job exists; the first poll comes at 4 s
    await sim.clock.advance(2_000);
    const d = (await alice.list('downloading', 25)).tasks[0].summary.props.download;
    expect(d.name).toBe('Big Buck Bunny');
    expect(d.files.map((f: { name: string; size: number }) => [f.name, f.size])).toEqual([
      ['Big Buck Bunny/Big Buck Bunny.mp4', 276134947],
      ['Big Buck Bunny/poster.jpg', 310380],
      ['Big Buck Bunny/subtitles/en.srt', 14122],
    ]);
  });

  it('keeps a catalogued stalled source at 0 bytes', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    await alice.post('/workflow/download', { src: ['https://example.com/stuck.bin'], dst: DL });
    await sim.clock.advance(30_000);
    expect((await alice.list('downloading', 25)).tasks[0].summary.props.download).toMatchObject({ state: 'downloading', downloaded: 0 });
  });
});
