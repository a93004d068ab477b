/**
 * Remote downloads (spec §10): creation checks, the simulated downloader's lifecycle on the
 * virtual clock, select (PATCH) and cancel (DELETE). Default `realistic` profile: pick-up 2 s,
 * polls every 1 s, 4 MiB/s; a URL path with /slow downloads at 16 KiB/s.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { contentSeed, contentStream } from '../../src/remote/downloader.js';
import { ACCOUNTS, as, testSimulator, UUID_V4 } from '../helpers.js';

const cid = expect.stringMatching(UUID_V4);
const ALICE = ACCOUNTS.alice.id;
const DL = 'cloudreve://my/Downloads';
const SLOW = 'https://example.com/slow/big.iso';

/** The synthesized bytes of file `index` of `source` (a URL, magnet link or info hash) under the test seed. */
async function bytesOf(source: string, index: number, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of contentStream(contentSeed('test', source), index, size)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A loopback HTTP server for real sources: `/file.txt` (31 000 bytes), `/moved` (302 to it),
 * any extra `routes`, 404 otherwise. Counts the requests it gets.
 */
async function serve(routes: Record<string, { body: Buffer; type?: string }> = {}) {
  const http = await import('node:http');
  const body = Buffer.from('real bytes from a local server\n'.repeat(1000));
  const all: Record<string, { body: Buffer; type?: string }> = { '/file.txt': { body }, ...routes };
  const state = { hits: 0 };
  const server = http.createServer((req, res) => {
    state.hits += 1;
    const route = all[req.url ?? ''];
    if (route) {
      res.writeHead(200, { 'Content-Length': route.body.length, ...(route.type ? { 'Content-Type': route.type } : {}) });
      res.end(route.body);
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
  return {
    base: `http://127.0.0.1:${port}`,
    body,
    get hits() {
      return state.hits;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
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

  it('accepts and ignores preferred_node_id in the community edition: the task runs on the master node', async () => {
    const sim = testSimulator({ edition: 'community' });
    const alice = await as(sim, 'alice');
    const res = await alice.post('/workflow/download', { src: ['https://e.x/a.bin'], dst: DL, preferred_node_id: 'm9uO' });
    expect(res.body).toMatchObject({ code: 0, data: [{ status: 'queued', type: 'remote_download' }] });
    await sim.clock.runUntilIdle();
    const t = (await alice.list('downloaded', 25)).tasks[0];
    expect(t).toMatchObject({ status: 'completed', node: { id: sim.ids.encode('node', 1), name: 'Master', type: 'master' } });
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
    expect(stored.equals(await bytesOf(url, 1, file.size))).toBe(true);
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
    expect(d.num_pieces).toBe(Math.ceil(d.total / (1024 * 1024)));
    const bits = Buffer.from(d.pieces, 'base64');
    const have = Array.from({ length: d.num_pieces }, (_, i) => (bits[i >> 3]! >> (i % 8)) & 1);
    expect(have.every((b: number) => b === 1)).toBe(true);
    // Three files under the torrent's name: a video, a poster in a folder, a text file.
    const names: string[] = d.files.map((f: { name: string }) => f.name);
    expect(names).toEqual([expect.stringMatching(/^Holiday\/[^/]+\.mkv$/), expect.stringMatching(/^Holiday\/extras\/[^/]+\.jpg$/), expect.stringMatching(/^Holiday\/[^/]+\.txt$/)]);
    await sim.clock.runUntilIdle();
    for (const [i, name] of names.entries()) {
      const segs = ['Downloads', ...name.split('/')];
      const size = sim.drive.stat(ALICE, segs)!.size;
      expect(size).toBe(d.files[i].size);
      expect(readFileSync(sim.drive.diskPath(ALICE, segs)).equals(await bytesOf(magnet, i + 1, size))).toBe(true);
    }
  });

  it('synthesizes the same files for the same seed and source, and other ones for another seed', async () => {
    const magnet = 'magnet:?xt=urn:btih:00112233445566778899aabbccddeeff00112233&dn=Album';
    const filesOf = async (seed: string) => {
      const sim = testSimulator({ seed });
      const alice = await as(sim, 'alice');
      await alice.post('/workflow/download', { src: [magnet, 'https://example.com/x/data.bin'], dst: DL });
      await sim.clock.advance(4_000);
      // The list is newest first.
      return (await alice.list('downloading', 25)).tasks.map((t) => t.summary.props.download.files).reverse();
    };
    const a = await filesOf('one');
    expect(await filesOf('one')).toEqual(a);
    const b = await filesOf('two');
    expect(b[0].map((f: { name: string }) => f.name)).not.toEqual(a[0].map((f: { name: string }) => f.name));
    expect(b[1][0].name).toBe('data.bin');
    expect(b[1][0].size).not.toBe(a[1][0].size);
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
    expect(clip.equals(await bytesOf(hash, 2, 300_000))).toBe(true);
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

  it('refuses (4.18 SSRF rule) an internal address outside fetchAllow; no request reaches it', async () => {
    const srv = await serve();
    try {
      const sim = testSimulator({ fetchAllow: ['example.org'] });
      const alice = await as(sim, 'alice');
      await alice.post('/workflow/download', { src: [`${srv.base}/file.txt`], dst: DL });
      await sim.clock.runUntilIdle();
      const t = (await alice.list('downloaded', 25)).tasks[0];
      expect(t).toMatchObject({ status: 'error', summary: { props: { download: null } } });
      expect(t.summary.phase).toBeUndefined();
      expect(t.error).toBe('url rejected: host "127.0.0.1" is an internal address (non-retryable error)');
      expect(t.retry_count).toBeUndefined();
      expect(srv.hits).toBe(0);
    } finally {
      await srv.close();
    }
  });

  it('keeps an internal address outside fetchAllow simulated in 4.0.0 mode (no URL check, no request)', async () => {
    const srv = await serve();
    try {
      const sim = testSimulator({ fetchAllow: ['example.org'], version: '4.0.0' });
      const alice = await as(sim, 'alice');
      await alice.post('/workflow/download', { src: [`${srv.base}/file.txt`], dst: DL });
      await sim.clock.runUntilIdle();
      const stored = readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'file.txt']));
      expect(stored.equals(await bytesOf(`${srv.base}/file.txt`, 1, stored.length))).toBe(true);
      expect(srv.hits).toBe(0);
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

/** Task `id` as alice sees it in either download list. */
async function downloadTask(alice: Awaited<ReturnType<typeof as>>, id: string) {
  return (await alice.list('downloading', 25)).tasks.find((t) => t.id === id) ?? (await alice.list('downloaded', 25)).tasks.find((t) => t.id === id);
}

/** Entries left in the world's temporary folder (task work folders). */
const tempEntries = (sim: ReturnType<typeof testSimulator>) => readdirSync(`${sim.dataDir}/worlds/default/tmp`);

describe('DELETE /workflow/download/:id at each phase', () => {
  it('before the first successful poll: the missing job is a failed poll, and the task ends in error (quirk)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const id = (await alice.post('/workflow/download', { src: [SLOW], dst: DL })).body.data[0].id;
    await sim.clock.advance(3_000); // the job exists (phase monitor); the first poll is at 4 s
    expect(await downloadTask(alice, id)).toMatchObject({ status: 'suspending', summary: { phase: 'monitor', props: { download: null } } });
    expect((await alice.delete(`/workflow/download/${id}`)).text).toBe('{"code":0,"msg":""}');
    await sim.clock.runUntilIdle();
    expect(await downloadTask(alice, id)).toMatchObject({
      status: 'error',
      error: 'failed to get task status after 5 retry: task not found',
      retry_count: 5,
      summary: { phase: 'monitor', props: { download: null } },
    });
    expect(sim.drive.stat(ALICE, ['Downloads', 'big.iso'])).toBeUndefined();
  });

  it('in transfer: the files on their way are discarded, the task ends canceled in transfer, nothing is left', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const id = (await alice.post('/workflow/download', { src: ['https://example.com/files/b.iso'], dst: DL })).body.data[0].id;
    await sim.clock.runUntil(async () => (await downloadTask(alice, id))?.summary.phase === 'transfer');
    expect((await alice.delete(`/workflow/download/${id}`)).text).toBe('{"code":0,"msg":""}');
    await sim.clock.runUntilIdle();
    expect(await downloadTask(alice, id)).toMatchObject({ status: 'canceled', summary: { phase: 'transfer' } });
    expect((await alice.list('downloading', 25)).tasks).toEqual([]);
    expect(sim.drive.stat(ALICE, ['Downloads', 'b.iso'])).toBeUndefined();
    expect(tempEntries(sim)).toEqual([]);
  });

  it('in seeding (a node that waits for seeding): canceled in seeding; the stored files stay whole', async () => {
    const sim = testSimulator({ waitForSeeding: true });
    const alice = await as(sim, 'alice');
    const id = (await alice.post('/workflow/download', { src: [SEEDING], dst: DL })).body.data[0].id;
    await sim.clock.runUntil(async () => (await downloadTask(alice, id))?.summary.phase === 'seeding');
    await sim.clock.advance(5_000);
    expect((await downloadTask(alice, id))?.summary.props.download).toMatchObject({ state: 'seeding', upload_speed: 32768, uploaded: expect.any(Number) });
    expect((await alice.delete(`/workflow/download/${id}`)).text).toBe('{"code":0,"msg":""}');
    await sim.clock.runUntilIdle();
    expect(await downloadTask(alice, id)).toMatchObject({ status: 'canceled', summary: { phase: 'seeding' } });
    expect(sim.drive.stat(ALICE, ['Downloads', 'Seeding Demo', 'demo.bin'])?.size).toBe(1024 * 1024);
    expect(tempEntries(sim)).toEqual([]);
  });
});

const SEEDING = 'magnet:?xt=urn:btih:c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

describe('remote_download: seeding', () => {
  it('completes at once after transfer when the node does not wait for seeding (the default)', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const id = (await alice.post('/workflow/download', { src: [SEEDING], dst: DL })).body.data[0].id;
    await sim.clock.runUntilIdle();
    const t = await downloadTask(alice, id);
    expect(t).toMatchObject({ status: 'completed', summary: { phase: 'seeding', props: { download: { state: 'seeding', upload_speed: 32768 } } } });
  });

  it('polls in seeding until the torrent stops seeding when the node waits (seed_for 30 s, uploading meanwhile)', async () => {
    const sim = testSimulator({ waitForSeeding: true });
    const alice = await as(sim, 'alice');
    const id = (await alice.post('/workflow/download', { src: [SEEDING], dst: DL })).body.data[0].id;
    const reached = await sim.clock.runUntil(async () => (await downloadTask(alice, id))?.summary.phase === 'seeding');
    await sim.clock.advance(10_000);
    const mid = (await downloadTask(alice, id))!;
    expect(mid).toMatchObject({ status: 'suspending', summary: { phase: 'seeding', props: { download: { state: 'seeding', upload_speed: 32768 } } } });
    expect(mid.summary.props.download.uploaded).toBeGreaterThan(0);
    const end = await sim.clock.runUntil(async () => (await downloadTask(alice, id))?.status === 'completed');
    expect(end - reached).toBeGreaterThanOrEqual(20_000);
    expect((await downloadTask(alice, id))!.summary.props.download).toMatchObject({ state: 'completed', upload_speed: 0, uploaded: 32768 * 30 });
  });
});

describe('remote_download: selection and validation', () => {
  it('validates again when the selected total changes: deselecting every file fails the task at the next poll', async () => {
    const sim = testSimulator();
    const alice = await as(sim, 'alice');
    const id = (await alice.post('/workflow/download', { src: [SLOW], dst: DL })).body.data[0].id;
    await sim.clock.advance(4_000);
    expect((await alice.patch(`/workflow/download/${id}`, { files: [{ index: 1, download: false }] })).text).toBe('{"code":0,"msg":""}');
    await sim.clock.runUntilIdle();
    const t = await downloadTask(alice, id);
    expect(t).toMatchObject({ status: 'error', error: 'failed to validate files: no file is selected (non-retryable error)', summary: { phase: 'monitor' } });
    expect(t!.summary.props.download).toMatchObject({ total: 0, files: [{ index: 1, selected: false }] });
  });

  it('stores only the selected files of a torrent, and the pieces bitfield leaves out the pieces of the others', async () => {
    const sim = testSimulator();
    const admin = await as(sim, 'admin');
    const magnet = 'magnet:?xt=urn:btih:5f1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e';
    const id = (await admin.post('/workflow/download', { src: [magnet], dst: 'cloudreve://my' })).body.data[0].id;
    await sim.clock.advance(4_000);
    // Deselect the poster (file 2): pieces 0…262 lie in the video; piece 263 also holds the poster.
    expect((await admin.patch(`/workflow/download/${id}`, { files: [{ index: 2, download: false }] })).text).toBe('{"code":0,"msg":""}');
    await sim.clock.runUntilIdle();
    const t = (await admin.list('downloaded', 25)).tasks.find((x) => x.id === id)!;
    expect(t.status).toBe('completed');
    const d = t.summary.props.download;
    expect(d.files.map((f: { selected: boolean }) => f.selected)).toEqual([true, false, true]);
    expect(d.total).toBe(276134947 + 14122);
    expect(sim.drive.stat(1, ['Big Buck Bunny', 'Big Buck Bunny.mp4'])?.size).toBe(276134947);
    expect(sim.drive.stat(1, ['Big Buck Bunny', 'poster.jpg'])).toBeUndefined();
    expect(sim.drive.stat(1, ['Big Buck Bunny', 'subtitles', 'en.srt'])?.size).toBe(14122);
    expect(d.num_pieces).toBe(264);
    const bits = Buffer.from(d.pieces, 'base64');
    expect(Array.from({ length: 264 }, (_, i) => (bits[i >> 3]! >> (i % 8)) & 1)).toEqual([...Array(263).fill(1), 0]);
  });
});

/** A torrent (BitTorrent metainfo) for `files`, with real piece hashes and the given web seeds. */
async function makeTorrent(name: string, files: Array<{ path: string[]; data: Buffer }>, urlList: string[], pieceLength = 16 * 1024): Promise<Buffer> {
  const { createHash } = await import('node:crypto');
  const bencode = (await import('bencode')).default;
  const all = Buffer.concat(files.map((f) => f.data));
  const pieces = Buffer.concat(
    Array.from({ length: Math.ceil(all.length / pieceLength) }, (_, i) => createHash('sha1').update(all.subarray(i * pieceLength, (i + 1) * pieceLength)).digest()),
  );
  const info =
    files.length === 1 && files[0]!.path.length === 0
      ? { length: all.length, name, 'piece length': pieceLength, pieces }
      : { files: files.map((f) => ({ length: f.data.length, path: f.path })), name, 'piece length': pieceLength, pieces };
  return Buffer.from(bencode.encode({ info, 'url-list': urlList }));
}

/** Puts `data` at `segments` in a user's drive. */
function putFile(sim: ReturnType<typeof testSimulator>, userId: number, segments: string[], data: Buffer): void {
  const tmp = `${sim.dataDir}/put-${segments.join('-')}`;
  writeFileSync(tmp, data);
  sim.drive.commitFile(userId, segments, tmp);
}

describe('remote_download: torrent web seeds (url-list) on allowed hosts', () => {
  const song = Buffer.from('la '.repeat(20_000));
  const cover = Buffer.alloc(40_000, 7);

  it('fetches a multi-file torrent’s content from its web seed (BEP 19), checks the pieces, and stores it', async () => {
    const srv = await serve({ '/seed/Album/song.txt': { body: song }, '/seed/Album/art/cover.bin': { body: cover } });
    try {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      putFile(sim, ALICE, ['album.torrent'], await makeTorrent('Album', [{ path: ['song.txt'], data: song }, { path: ['art', 'cover.bin'], data: cover }], [`${srv.base}/seed/`]));
      const id = (await alice.post('/workflow/download', { src_file: 'cloudreve://my/album.torrent', dst: DL })).body.data[0].id;
      await sim.clock.runUntilIdle();
      expect(await downloadTask(alice, id)).toMatchObject({ status: 'completed', summary: { props: { download: { name: 'Album', total: 100_000, num_pieces: 7 } } } });
      expect(readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'Album', 'song.txt'])).equals(song)).toBe(true);
      expect(readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'Album', 'art', 'cover.bin'])).equals(cover)).toBe(true);
      expect(srv.hits).toBe(2);
    } finally {
      await srv.close();
    }
  });

  it('takes a single-file torrent’s web seed as the file itself, and follows a torrent served by an allowed URL', async () => {
    const srv = await serve({ '/one.bin': { body: cover } });
    const torrent = await makeTorrent('one.bin', [{ path: [], data: cover }], [`${srv.base}/one.bin`]);
    const srv2 = await serve({ '/get?id=1': { body: torrent, type: 'application/x-bittorrent' } });
    try {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      const id = (await alice.post('/workflow/download', { src: [`${srv2.base}/get?id=1`], dst: DL })).body.data[0].id;
      await sim.clock.runUntilIdle();
      expect(await downloadTask(alice, id)).toMatchObject({ status: 'completed', summary: { props: { download: { name: 'one.bin', total: 40_000 } } } });
      expect(readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'one.bin'])).equals(cover)).toBe(true);
    } finally {
      await srv.close();
      await srv2.close();
    }
  });

  it('fails the download (downloader error) when the web seed’s bytes do not match the piece hashes', async () => {
    const bad = Buffer.from(cover);
    bad[20_000] = 8; // piece 1 of 16 KiB pieces
    const srv = await serve({ '/one.bin': { body: bad } });
    try {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      putFile(sim, ALICE, ['one.torrent'], await makeTorrent('one.bin', [{ path: [], data: cover }], [`${srv.base}/one.bin`]));
      const id = (await alice.post('/workflow/download', { src_file: 'cloudreve://my/one.torrent', dst: DL })).body.data[0].id;
      await sim.clock.runUntilIdle();
      expect(await downloadTask(alice, id)).toMatchObject({
        status: 'error',
        error: `download task failed with state "error" (non-retryable error), errorMsg: web seed ${srv.base}/one.bin: piece 1 does not match its hash`,
      });
      expect(sim.drive.stat(ALICE, ['Downloads', 'one.bin'])).toBeUndefined();
      expect(tempEntries(sim)).toEqual([]);
    } finally {
      await srv.close();
    }
  });

  it('tries the next web seed when one fails, and synthesizes the content when no web seed host is allowed', async () => {
    const srv = await serve({ '/b/one.bin': { body: cover } });
    try {
      const sim = testSimulator();
      const alice = await as(sim, 'alice');
      putFile(sim, ALICE, ['two.torrent'], await makeTorrent('one.bin', [{ path: [], data: cover }], [`${srv.base}/a/`, `${srv.base}/b/`]));
      putFile(sim, ALICE, ['far.torrent'], await makeTorrent('far.bin', [{ path: [], data: cover }], ['https://seeds.example.net/far.bin']));
      await alice.post('/workflow/download', { src_file: 'cloudreve://my/two.torrent', dst: DL });
      await alice.post('/workflow/download', { src_file: 'cloudreve://my/far.torrent', dst: DL });
      await sim.clock.runUntilIdle();
      expect((await alice.list('downloaded', 25)).tasks.map((t) => t.status)).toEqual(['completed', 'completed']);
      expect(readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'one.bin'])).equals(cover)).toBe(true);
      const far = readFileSync(sim.drive.diskPath(ALICE, ['Downloads', 'far.bin']));
      expect(far.length).toBe(40_000);
      expect(far.equals(cover)).toBe(false);
      expect(srv.hits).toBe(2); // /a/one.bin (404), /b/one.bin
    } finally {
      await srv.close();
    }
  });
});

describe('remote_download: a 10 GiB torrent', () => {
  it('completes on the virtual clock with flat memory, its files at their declared sizes', async () => {
    const sim = testSimulator({ profile: 'fast' });
    const admin = await as(sim, 'admin');
    const GiB = 1024 ** 3;
    const id = (await admin.post('/workflow/download', { src: ['magnet:?xt=urn:btih:10ab10ab10ab10ab10ab10ab10ab10ab10ab10ab'], dst: 'cloudreve://my' })).body.data[0].id;
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      await sim.clock.runUntilIdle();
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const t = (await admin.list('downloaded', 25)).tasks.find((x) => x.id === id)!;
    expect(t).toMatchObject({ status: 'completed', summary: { props: { download: { name: 'Large Dataset', total: 10 * GiB, downloaded: 10 * GiB } } } });
    for (const name of ['part-1.bin', 'part-2.bin']) {
      expect(sim.drive.stat(1, ['Large Dataset', name])?.size).toBe(5 * GiB);
      expect(statSync(sim.drive.diskPath(1, ['Large Dataset', name])).blocks * 512).toBeGreaterThanOrEqual(5 * GiB); // written, not sparse
    }
    expect(peak - before).toBeLessThan(128 * 1024 * 1024);
  }, 300_000);
});
