/**
 * The dashboard's and the metrics' HTTP routes on the client port (KvServer hands them
 * every HTTP/1.1 request first):
 *
 *   GET    /                                  the dashboard page (static/index.html)
 *   GET    /dashboard/app.js, /dashboard/app.css   its bundle (built by scripts/build-dashboard.ts)
 *   GET    /metrics                           Prometheus text format
 *   GET    /dashboard/api/state               {state, events, samples} as JSON
 *   GET    /dashboard/api/stream              server-sent events: hello, state, event, sample
 *   POST   /dashboard/api/transfer-leadership {to}            (to the leader)
 *   POST   /dashboard/api/members             {peerURL, learner} (to the leader)
 *   DELETE /dashboard/api/members/<id>                         (to the leader)
 *
 * The page of one member reads the streams of all of them, so the API answers CORS
 * requests from loopback origins and from the origins of the members' client URLs. The
 * actions take only JSON bodies (a cross-origin request then needs a preflight, which other
 * origins fail) and refuse other origins outright.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { KvError } from '../errors.ts';
import type { KvService } from '../service.ts';
import type { AddMemberRequest, TransferRequest } from './protocol.ts';
import type { Telemetry } from './telemetry.ts';

/** STATIC_DIR holds the built page (index.html, app.js, app.css). */
export const STATIC_DIR = new URL('./static/', import.meta.url);

const staticFiles: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const cache = new Map<string, Promise<{ body: Buffer; etag: string }>>();

function loadStatic(file: string): Promise<{ body: Buffer; etag: string }> {
  let p = cache.get(file);
  if (p === undefined) {
    p = readFile(new URL(file, STATIC_DIR)).then((body) => ({
      body,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    }));
    p.catch(() => cache.delete(file));
    cache.set(file, p);
  }
  return p;
}

/** DashboardOptions configure dashboardRoutes(). */
export interface DashboardOptions {
  /** maxStreams bounds the concurrent event streams. Default 64. */
  maxStreams?: number;
  /** stateIntervalMs is how often a stream gets the member's state. Default 250. */
  stateIntervalMs?: number;
}

class RouteError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** MAX_STREAM_BUFFER bounds what an event stream may have waiting for a slow page. */
const MAX_STREAM_BUFFER = 1 << 20;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** allowedOrigin tells whether a page at `origin` may use this member's dashboard API. */
export function allowedOrigin(origin: string, svc: KvService): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  if (LOOPBACK.has(u.hostname)) return true;
  return svc
    .members()
    .some((m) => m.clientURLs.some((c) => URL.canParse(c) && new URL(c).origin === u.origin));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) {
    throw new RouteError(415, 'the body must be application/json');
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) throw new RouteError(413, `request body exceeds ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new RouteError(400, 'the body is not valid JSON');
  }
}

function memberId(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new RouteError(400, `${what} must be a member id (a positive integer)`);
  }
  return v;
}

/** sse formats one server-sent event. */
function sse(type: string, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`;
}

/**
 * StateFeed sends the telemetry's events and samples, and its state every interval (when it
 * changed, or at least every 2 s), to every open stream: each message is built once, for all.
 * It runs only while a stream is open.
 */
class StateFeed {
  private readonly sinks = new Set<(message: string) => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private unsubscribe: (() => void) | undefined;
  private last = '';
  private lastAt = 0;

  constructor(
    private readonly telemetry: Telemetry,
    private readonly intervalMs: number,
  ) {}

  /** size is the number of open streams. */
  get size(): number {
    return this.sinks.size;
  }

  /** add starts sending to sink; the function returned stops it. */
  add(sink: (message: string) => void): () => void {
    this.sinks.add(sink);
    if (this.sinks.size === 1) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.unsubscribe = this.telemetry.subscribe((type, data) =>
        this.broadcast(sse(type, JSON.stringify(data))),
      );
    }
    return () => {
      if (!this.sinks.delete(sink) || this.sinks.size > 0) return;
      clearInterval(this.timer);
      this.unsubscribe?.();
    };
  }

  private tick(): void {
    const state = this.telemetry.state();
    const json = JSON.stringify(state);
    const sig = json.replace(/"at":\d+,/, '');
    if (sig === this.last && state.at - this.lastAt < 2000) return;
    this.last = sig;
    this.lastAt = state.at;
    this.broadcast(sse('state', json));
  }

  private broadcast(message: string): void {
    for (const sink of this.sinks) sink(message);
  }
}

/**
 * dashboardRoutes returns a request listener for the routes above: it answers the request
 * and returns true, or returns false for a path that is not its own.
 */
export function dashboardRoutes(
  telemetry: Telemetry,
  svc: KvService,
  o: DashboardOptions = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const maxStreams = o.maxStreams ?? 64;
  const stateIntervalMs = o.stateIntervalMs ?? 250;

  const feed = new StateFeed(telemetry, stateIntervalMs);

  const stream = (req: IncomingMessage, res: ServerResponse): void => {
    if (feed.size >= maxStreams) {
      throw new RouteError(503, `too many dashboard streams (${maxStreams})`);
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    res.write(`retry: 1000\n\n${sse('hello', JSON.stringify(telemetry.hello()))}`);
    const remove = feed.add((message) => {
      // A page that stops reading is cut off rather than buffered for without bound.
      if (res.writableLength > MAX_STREAM_BUFFER) res.destroy();
      else res.write(message);
    });
    res.once('close', remove);
  };

  const action = async (req: IncomingMessage, path: string): Promise<[number, unknown]> => {
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigin(origin, svc)) {
      throw new RouteError(403, `origin ${origin} may not change this cluster`);
    }
    const signal = AbortSignal.timeout(svc.requestTimeoutMs);
    if (req.method === 'POST' && path === '/dashboard/api/transfer-leadership') {
      const body = (await readJson(req)) as Partial<TransferRequest>;
      const to = memberId(body.to, 'to');
      await svc.moveLeader(to, { signal });
      return [200, { leader: svc.backend.status().leader }];
    }
    if (req.method === 'POST' && path === '/dashboard/api/members') {
      const body = (await readJson(req)) as Partial<AddMemberRequest>;
      if (typeof body.peerURL !== 'string') throw new RouteError(400, 'peerURL must be a string');
      const m = await svc.memberAdd([body.peerURL], body.learner === true, { signal });
      return [200, { member: m }];
    }
    const m = /^\/dashboard\/api\/members\/(\d+)$/.exec(path);
    if (req.method === 'DELETE' && m !== null) {
      const id = memberId(Number(m[1]), 'the member id');
      return [200, { members: await svc.memberRemove(id, { signal }) }];
    }
    throw new RouteError(404, `no such dashboard action: ${req.method ?? ''} ${path}`);
  };

  const serveStatic = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const f = staticFiles[path] as { file: string; type: string };
    let s: { body: Buffer; etag: string };
    try {
      s = await loadStatic(f.file);
    } catch {
      const why = `the dashboard bundle is missing (${f.file}): run npm run build:dashboard`;
      throw new RouteError(503, why);
    }
    const headers = { etag: s.etag, 'cache-control': 'no-cache', 'content-type': f.type };
    if (req.headers['if-none-match'] === s.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': s.body.length });
    res.end(req.method === 'HEAD' ? undefined : s.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const method = req.method ?? 'GET';
    const origin = req.headers.origin;
    if (path.startsWith('/dashboard/api/') && origin !== undefined && allowedOrigin(origin, svc)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
    }
    if (method === 'OPTIONS' && path.startsWith('/dashboard/api/')) {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, DELETE',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    if (Object.hasOwn(staticFiles, path) && (method === 'GET' || method === 'HEAD')) {
      await serveStatic(req, res, path);
    } else if (path === '/metrics' && method === 'GET') {
      const text = await telemetry.metrics.metrics();
      res.writeHead(200, { 'content-type': telemetry.metrics.contentType });
      res.end(text);
    } else if (path === '/dashboard/api/state' && method === 'GET') {
      json(res, 200, telemetry.hello());
    } else if (path === '/dashboard/api/stream' && method === 'GET') {
      stream(req, res);
    } else {
      const [status, body] = await action(req, path);
      json(res, status, body);
    }
  };

  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://raftkv').pathname;
    if (
      !Object.hasOwn(staticFiles, path) &&
      path !== '/metrics' &&
      !path.startsWith('/dashboard/')
    ) {
      return false;
    }
    handle(req, res, path).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof RouteError) json(res, err.status, { error: err.message });
      else if (err instanceof KvError) json(res, err.httpStatus, { error: err.message });
      else json(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
    return true;
  };
}
