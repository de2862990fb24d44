/**
 * Fault injection on a member's client port, for `raftkv local`'s supervisor: enabled only
 * when the member was started with --allow-fault-injection.
 *
 *   POST /admin/isolate   drop every raft message to and from the peers ({"isolated":true})
 *   POST /admin/heal      let them through again                     ({"isolated":false})
 *   GET  /admin/faults    {"isolated": bool, "dropped": messages dropped so far}
 *
 * A request that a browser sends from a page of another origin than http://127.0.0.1:* (or
 * localhost) is refused with 403: a web page must not be able to cut a member off.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../raft/logger.ts';
import type { MemberTransport } from './member_transport.ts';

const routes = new Map([
  ['/admin/isolate', 'POST'],
  ['/admin/heal', 'POST'],
  ['/admin/faults', 'GET'],
]);

/** isLocalOrigin reports whether a browser Origin is a page served from this machine. */
export function isLocalOrigin(origin: string): boolean {
  return /^http:\/\/(127\.0\.0\.1|localhost)(:\d{1,5})?$/.test(origin);
}

/**
 * foreignOrigin returns the request's Origin when a browser sent it from a page that is
 * not local (see isLocalOrigin); requests without an Origin (curl, the supervisor) pass.
 */
export function foreignOrigin(req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  return origin === undefined || isLocalOrigin(origin) ? undefined : origin;
}

/** sendJson answers status with body as JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/**
 * adminRoutes returns the HTTP routes above for KvServer's `httpRoutes`: it answers the
 * requests under /admin/ and returns true, and returns false for every other request.
 */
export function adminRoutes(
  t: MemberTransport,
  log: Logger,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://raftkv').pathname;
    if (!path.startsWith('/admin/')) return false;
    const foreign = foreignOrigin(req);
    if (foreign !== undefined) {
      sendJson(res, 403, { error: `requests from origin ${foreign} are not allowed` });
      return true;
    }
    const method = req.method ?? 'GET';
    const allowed = routes.get(path);
    if (allowed !== method) {
      const status = allowed === undefined ? 404 : 405;
      sendJson(res, status, { error: `no such endpoint: ${method} ${path}` });
      return true;
    }
    if (path === '/admin/isolate' && !t.isolated) {
      log.warning('fault injection: isolated from every peer');
      t.isolate();
    } else if (path === '/admin/heal' && t.isolated) {
      log.warning('fault injection: healed, peers reachable again');
      t.heal();
    }
    req.resume();
    sendJson(res, 200, { isolated: t.isolated, dropped: t.dropped });
    return true;
  };
}
