/**
 * The control API of `raftkv local`'s supervisor (127.0.0.1:2378 by default), for the
 * dashboard and for people with curl. JSON in and out:
 *
 *   GET  /cluster               {nodes: [{id, name, pid, clientUrl, peerUrl, running, isolated}]}
 *   POST /nodes/<id>/kill       SIGKILL the member's process          → {node}
 *   POST /nodes/<id>/restart    stop it if running, start it again on the same data → {node}
 *   POST /nodes/<id>/isolate    cut it off from its peers (raft traffic in and out)   → {node}
 *   POST /nodes/<id>/heal       reconnect it                                          → {node}
 *
 * Errors are {"error": message}: 404 for an unknown node or path, 405 for a wrong method,
 * 409 to isolate or heal a member that is not running, 403 for a request a browser sends
 * from a page that is not on http://127.0.0.1:* (or localhost). Pages on those origins get
 * `Access-Control-Allow-Origin` (and preflights are answered), so the dashboard served by a
 * member's client port can call this API.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { foreignOrigin, isLocalOrigin, sendJson } from './admin.ts';

/** NodeView is one member as GET /cluster shows it. */
export interface NodeView {
  id: number;
  name: string;
  /** pid of the member's process; null while it does not run. */
  pid: number | null;
  clientUrl: string;
  peerUrl: string;
  running: boolean;
  isolated: boolean;
}

/** ControlAction is what POST /nodes/<id>/<action> asks. */
export const ControlAction = {
  Kill: 'kill',
  Restart: 'restart',
  Isolate: 'isolate',
  Heal: 'heal',
} as const;
/** ControlAction is one of the ControlAction values. */
export type ControlAction = (typeof ControlAction)[keyof typeof ControlAction];

/** ControlError is a refusal with its HTTP status (409: the node is not running). */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  readonly code = 'ERR_CONTROL';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * ControlTarget is the supervisor as the API sees it. act() resolves with the node after
 * the action, and rejects with a ControlError for a refusal (anything else is a 500).
 */
export interface ControlTarget {
  nodes(): NodeView[];
  act(id: number, action: ControlAction): Promise<NodeView>;
}

const actions = new Set<string>(Object.values(ControlAction));

function cors(req: IncomingMessage, res: ServerResponse): void {
  const origin = req.headers.origin;
  res.setHeader('vary', 'Origin');
  if (origin === undefined || !isLocalOrigin(origin)) return;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  res.setHeader('access-control-allow-headers', 'content-type');
  res.setHeader('access-control-max-age', '600');
}

async function route(t: ControlTarget, req: IncomingMessage): Promise<[number, unknown]> {
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://control').pathname;
  if (path === '/cluster') {
    if (method !== 'GET') return [405, { error: `${method} is not allowed on /cluster` }];
    return [200, { nodes: t.nodes() }];
  }
  const m = /^\/nodes\/(\d+)\/([a-z]+)$/.exec(path);
  if (m === null || !actions.has(m[2] as string)) {
    return [404, { error: `no such endpoint: ${path} (see GET /cluster, POST /nodes/<id>/kill)` }];
  }
  if (method !== 'POST') return [405, { error: `${method} is not allowed on ${path}` }];
  const id = Number(m[1]);
  if (!t.nodes().some((n) => n.id === id)) return [404, { error: `no node ${id}` }];
  return [200, { node: await t.act(id, m[2] as ControlAction) }];
}

/** controlHandler returns the request listener of the control API on `t`. */
export function controlHandler(
  t: ControlTarget,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.resume();
    cors(req, res);
    const foreign = foreignOrigin(req);
    if (foreign !== undefined) {
      sendJson(res, 403, { error: `requests from origin ${foreign} are not allowed` });
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    route(t, req).then(
      ([status, body]) => sendJson(res, status, body),
      (err: unknown) => {
        const status = err instanceof ControlError ? err.status : 500;
        sendJson(res, status, { error: err instanceof Error ? err.message : String(err) });
      },
    );
  };
}

/**
 * listenControl serves the control API on host:port and resolves with the server and its
 * URL; it rejects with the listen error (EADDRINUSE: another supervisor runs).
 */
export async function listenControl(
  t: ControlTarget,
  host: string,
  port: number,
): Promise<{ server: Server; url: string }> {
  const server = createServer(controlHandler(t));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const h = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return { server, url: `http://${h}:${a.port}` };
}
