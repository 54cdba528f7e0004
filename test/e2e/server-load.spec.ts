/**
 * The server holds under any client (loopback only, bounded in time). While 1,000 connections
 * each hold a machine, a client that never reads its replies (and pipelines a burst of 1 MiB
 * reads whose replies pass V8's string limit together), and slow-loris clients that never
 * finish a line, a well-behaved client keeps its latency and the server's RSS stays under a
 * stated bound. Sizes come from the environment so that CI on a small machine can shrink them:
 *   TDXSIM_LOAD_CONNS (1000), TDXSIM_LOAD_LORIS (50), TDXSIM_LOAD_SECONDS (8),
 *   TDXSIM_LOAD_RSS_MB (512), TDXSIM_LOAD_P99_MS (1500).
 * The numbers are printed (latency percentiles, peak RSS) so that a run can be quoted.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  const n = v === undefined ? NaN : Number(v);
  return Number.isSafeInteger(n) && n > 0 ? n : dflt;
}

const CONNS = envInt('TDXSIM_LOAD_CONNS', 1000);
const LORIS = envInt('TDXSIM_LOAD_LORIS', 50);
const SECONDS = envInt('TDXSIM_LOAD_SECONDS', 8);
const RSS_BOUND_MB = envInt('TDXSIM_LOAD_RSS_MB', 512);
const P99_BOUND_MS = envInt('TDXSIM_LOAD_P99_MS', 1500);
const IDLE_S = Math.max(2, Math.floor(SECONDS / 2));

const servers: ChildProcess[] = [];
afterAll(() => {
  for (const s of servers) {
    s.kill();
  }
});

/** Start `tdxsim serve --port 0 ...args`; resolves with its port. */
function startServer(args: string[]): Promise<{ proc: ChildProcess; port: number; stderr: () => string }> {
  const proc = spawn(process.execPath, [`${ROOT}dist/cli/main.js`, 'serve', '--port', '0', ...args], { cwd: ROOT });
  servers.push(proc);
  let err = '';
  return new Promise((resolve, reject) => {
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      err += d;
      const m = /listening on [^\n]*:(\d+)\n/.exec(err);
      if (m !== null) {
        resolve({ proc, port: Number(m[1]), stderr: () => err });
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) / 1024;
}

/** A JSON-lines client matching replies by id. */
class Client {
  readonly sock: Socket;
  private buf = '';
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Record<string, unknown>) => void>();
  readonly orphans: Record<string, unknown>[] = [];
  closed = false;

  constructor(port: number) {
    this.sock = createConnection({ port, host: '127.0.0.1' });
    this.sock.setEncoding('utf8');
    this.sock.on('error', () => undefined);
    this.sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.values()) {
        w({ error: { code: 'CLOSED', message: 'the server closed the connection' } });
      }
      this.waiting.clear();
    });
    this.sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const r = JSON.parse(this.buf.slice(0, nl)) as Record<string, unknown>;
        this.buf = this.buf.slice(nl + 1);
        const w = typeof r['id'] === 'number' ? this.waiting.get(r['id']) : undefined;
        if (w === undefined) {
          this.orphans.push(r);
        } else {
          this.waiting.delete(r['id'] as number);
          w(r);
        }
      }
    });
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock.once('connect', () => resolve());
      this.sock.once('error', reject);
    });
  }

  request(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    if (this.closed) {
      return Promise.resolve({ error: { code: 'CLOSED', message: 'the connection is closed' } });
    }
    const id = this.nextId++;
    const p = new Promise<Record<string, unknown>>((resolve) => this.waiting.set(id, resolve));
    this.sock.write(`${JSON.stringify({ id, method, params })}\n`);
    return p;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/** A client that pauses its socket and keeps sending reads; reconnects when the server closes it. */
function neverReader(port: number, stop: () => boolean): { sent: () => number } {
  let sent = 0;
  const burst = [JSON.stringify({ id: 0, method: 'machine.create', params: { platform: 'ref' } })];
  for (let i = 1; i <= 300; i++) {
    burst.push(JSON.stringify({ id: i, method: 'mem.read', params: { machine: 'm1', pa: 0, len: 1048576 } }));
  }
  const connect = (): void => {
    if (stop()) {
      return;
    }
    const s = createConnection({ port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    s.pause();
    s.on('connect', () => {
      // 300 replies of 2 MiB each from one input chunk: together past V8's string limit.
      s.write(`${burst.join('\n')}\n`);
      const t = setInterval(() => {
        if (stop() || s.destroyed) {
          clearInterval(t);
          s.destroy();
          return;
        }
        if (s.writableLength < 4 * 2 ** 20) {
          s.write(`${JSON.stringify({ id: 1, method: 'mem.read', params: { machine: 'm1', pa: 1048576, len: 65536 } })}\n`);
          sent++;
        }
      }, 3);
    });
    s.on('close', () => setTimeout(connect, 50));
  };
  connect();
  return { sent: () => sent };
}

describe(`tdxsim serve under load (${CONNS} connections, ${LORIS} slow-loris, a never-reading client, ${SECONDS} s)`, () => {
  it('a well-behaved client keeps its latency and the server stays under its RSS bound', async () => {
    const { proc, port } = await startServer(['--max-connections', String(CONNS + LORIS + 64), '--max-total-machines', String(CONNS + 64), '--idle-timeout', String(IDLE_S)]);
    const pid = proc.pid as number;
    let peak = rssMb(pid);
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(pid));
    }, 100);

    // The well-behaved client, with its machine, measured before the load as a baseline.
    const good = new Client(port);
    await good.connected();
    expect((await good.request('machine.create', { platform: 'ref' }))['result']).toBeDefined();
    const rd = { machine: 'm1', lp: 0, regs: { rax: '0x21' } };
    const baseline: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await good.request('seamcall', rd);
      baseline.push(performance.now() - t0);
    }

    // 1,000 connections, each with a machine and a SEAMCALL, opened in batches; they stay open,
    // idle but alive: one request per second each (and from the measured client), below the
    // idle timeout.
    const crowd: Client[] = [];
    const keepAlive = setInterval(() => {
      for (const c of [good, ...crowd]) {
        void c.request('server.info');
      }
    }, 1000);
    for (let i = 0; i < CONNS; i += 100) {
      const batch = Array.from({ length: Math.min(100, CONNS - i) }, () => new Client(port));
      await Promise.all(batch.map((c) => c.connected()));
      const replies = await Promise.all(batch.map(async (c) => [await c.request('machine.create', { platform: 'ref' }), await c.request('seamcall', rd)]));
      for (const [a, b] of replies) {
        expect(a?.['error']).toBeUndefined();
        expect(b?.['error']).toBeUndefined();
      }
      crowd.push(...batch);
    }

    // Slow-loris: a byte every 500 ms, never a newline.
    const loris: Socket[] = [];
    for (let i = 0; i < LORIS; i++) {
      const s = createConnection({ port, host: '127.0.0.1' });
      s.on('error', () => undefined);
      s.resume();
      loris.push(s);
    }
    const lorisTimer = setInterval(() => {
      for (const s of loris) {
        if (!s.destroyed && s.writable) {
          s.write('{');
        }
      }
    }, 500);

    const t0 = performance.now();
    const stop = (): boolean => performance.now() - t0 > SECONDS * 1000;
    const reader = neverReader(port, stop);

    // The well-behaved client under load.
    const lat: number[] = [];
    while (!stop()) {
      const a = performance.now();
      const r = await good.request('seamcall', rd);
      lat.push(performance.now() - a);
      expect(r['error']).toBeUndefined();
    }
    clearInterval(lorisTimer);
    clearInterval(keepAlive);
    clearInterval(sampler);
    peak = Math.max(peak, rssMb(pid));

    lat.sort((a, b) => a - b);
    baseline.sort((a, b) => a - b);
    const lorisClosed = loris.filter((s) => s.destroyed || s.readableEnded).length;
    const summary = {
      connections: CONNS,
      baselineP50Ms: +percentile(baseline, 50).toFixed(2),
      requests: lat.length,
      p50Ms: +percentile(lat, 50).toFixed(2),
      p99Ms: +percentile(lat, 99).toFixed(2),
      maxMs: +(lat[lat.length - 1] ?? 0).toFixed(2),
      peakRssMb: Math.round(peak),
      rssBoundMb: RSS_BOUND_MB,
      neverReaderRequestsSent: reader.sent(),
      slowLorisClosedByIdleTimeout: `${lorisClosed}/${LORIS}`,
    };
    console.log(`server load: ${JSON.stringify(summary)}`);

    // The crowd is still served: a sample of connections answer.
    for (const c of crowd.filter((_, i) => i % 97 === 0)) {
      expect((await c.request('machine.list'))['result']).toEqual({ machines: ['m1'] });
    }
    expect(proc.exitCode).toBeNull();
    expect(lat.length).toBeGreaterThan(10);
    expect(summary.p99Ms).toBeLessThan(P99_BOUND_MS);
    expect(peak).toBeLessThan(RSS_BOUND_MB);
    expect(lorisClosed).toBe(LORIS);
    for (const c of crowd) {
      c.sock.destroy();
    }
    good.sock.destroy();
  }, 60_000);
});

describe('tdxsim serve limits: a clear error, the other connections unaffected', () => {
  it('connections beyond --max-connections get TDXSIM_TOO_MANY_CONNECTIONS and are closed', async () => {
    const { port } = await startServer(['--max-connections', '2']);
    const a = new Client(port);
    const b = new Client(port);
    await Promise.all([a.connected(), b.connected()]);
    await a.request('server.info');
    await b.request('server.info');
    const c = new Client(port);
    await c.connected();
    await new Promise((r) => c.sock.on('close', r));
    expect((c.orphans[0]?.['error'] as { code?: string } | undefined)?.code).toBe('TDXSIM_TOO_MANY_CONNECTIONS');
    expect((await a.request('server.info'))['result']).toBeDefined();
    a.sock.destroy();
    await new Promise((r) => setTimeout(r, 100));
    // A closed connection frees its place.
    const d = new Client(port);
    await d.connected();
    expect((await d.request('server.info'))['result']).toBeDefined();
    b.sock.destroy();
    d.sock.destroy();
  });

  it('simulated memory is limited per connection and in total; machines in total; closing frees them', async () => {
    const MiB = 2 ** 20;
    const { port } = await startServer(['--max-conn-mem-bytes', String(4 * MiB), '--max-total-mem-bytes', String(6 * MiB), '--max-total-machines', '3']);
    const a = new Client(port);
    const b = new Client(port);
    await Promise.all([a.connected(), b.connected()]);
    await a.request('machine.create', { platform: 'ref' });
    const data = '00'.repeat(MiB);
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await a.request('mem.write', { machine: 'm1', pa: i * MiB, data });
      codes.push((r['error'] as { code: string } | undefined)?.code ?? 'ok');
    }
    expect(codes).toContain('TDXSIM_MEMORY_LIMIT');
    expect(codes[0]).toBe('ok');
    // The other connection still works, within what is left of the total.
    await b.request('machine.create', { platform: 'ref' });
    expect((await b.request('seamcall', { machine: 'm1', lp: 0, regs: { rax: '0x21' } }))['result']).toBeDefined();
    await b.request('machine.create', { platform: 'ref' });
    const third = await b.request('machine.create', { platform: 'ref' });
    expect((third['error'] as { code: string }).code).toBe('TDXSIM_TOO_MANY_MACHINES');
    expect((third['error'] as { message: string }).message).toContain('--max-total-machines');
    a.sock.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect((await b.request('machine.create', { platform: 'ref' }))['result']).toBeDefined();
    b.sock.destroy();
  });

  it('--host 0.0.0.0 warns that the server has no authentication; a port in use is exit 2 naming the port', async () => {
    const { port, stderr } = await startServer(['--host', '0.0.0.0']);
    expect(stderr()).toMatch(/warning: --host 0\.0\.0\.0 accepts connections from the network; the server has no authentication/);
    const loop = await startServer([]);
    expect(loop.stderr()).not.toMatch(/warning/);
    const second = spawn(process.execPath, [`${ROOT}dist/cli/main.js`, 'serve', '--port', String(port)], { cwd: ROOT });
    let err = '';
    second.stderr.setEncoding('utf8');
    second.stderr.on('data', (d: string) => {
      err += d;
    });
    const code = await new Promise((r) => second.on('exit', r));
    expect(code).toBe(2);
    expect(err).toContain(`port ${port} is in use`);
    expect(err).not.toMatch(/internal error|bug in the model/);
  });
});
