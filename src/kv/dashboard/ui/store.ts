/**
 * ClusterStore: the page's model of the whole cluster. It reads the event stream of every
 * member it learns of (the members' published client URLs, and the supervisor's list when
 * the cluster runs under `raftkv local`), keeps each member's last state and samples, and
 * merges the members' events (the same fact reported by several members is one event).
 */
import type { ControlNode, Hello, NodeState, RaftEvent, Sample } from '../protocol.ts';

/** Link is how the page reaches a member's stream now. */
export type Link = 'connecting' | 'up' | 'down';

/** NodeEntry is one member as the page knows it. */
export interface NodeEntry {
  id: number;
  url: string | undefined;
  link: Link;
  state: NodeState | undefined;
  samples: Sample[];
  control: ControlNode | undefined;
}

/** ClusterEvent is an event with every member that reported it. */
export interface ClusterEvent extends RaftEvent {
  seenBy: number[];
}

/** Toast is the outcome of an action the person took. */
export interface Toast {
  id: number;
  text: string;
  error: boolean;
}

interface Conn {
  url: string;
  source: EventSource | undefined;
  id: number | undefined;
  link: Link;
  retry: ReturnType<typeof setTimeout> | undefined;
}

const MAX_EVENTS = 200;
const MAX_SAMPLES = 180;

/** ClusterStore holds the cluster's view; see the file comment. */
export class ClusterStore {
  readonly self: string;
  private readonly conns = new Map<string, Conn>();
  private readonly states = new Map<number, NodeState>();
  private readonly samples = new Map<number, Sample[]>();
  private readonly events = new Map<string, ClusterEvent>();
  private controlNodes: ControlNode[] = [];
  controlUrl: string | undefined;
  controlError: string | undefined;
  toasts: Toast[] = [];
  private toastSeq = 0;
  private readonly listeners = new Set<() => void>();
  private notifyScheduled = false;
  private controlTimer: ReturnType<typeof setInterval> | undefined;
  /** version changes whenever the view does (for rendering). */
  version = 0;

  constructor(self: string) {
    this.self = self;
  }

  /** start connects to this page's member. */
  start(): void {
    this.connect(this.self);
  }

  /** subscribe calls listener after every change (batched per animation frame). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** nodes returns every member known, by id. */
  nodes(): NodeEntry[] {
    const ids = new Set<number>();
    for (const s of this.states.values()) for (const m of s.members) ids.add(m.id);
    for (const c of this.controlNodes) ids.add(c.id);
    for (const id of this.states.keys()) ids.add(id);
    return [...ids]
      .sort((a, b) => a - b)
      .map((id) => {
        const conn = [...this.conns.values()].find((c) => c.id === id);
        const control = this.controlNodes.find((c) => c.id === id);
        return {
          id,
          url: conn?.url ?? control?.clientUrl ?? this.memberUrl(id),
          link: conn?.link ?? 'down',
          state: this.states.get(id),
          samples: this.samples.get(id) ?? [],
          control,
        };
      });
  }

  /** leader returns the member that leads now, as the members that are up see it. */
  leader(): NodeEntry | undefined {
    const leaders = this.nodes().filter((n) => n.link === 'up' && n.state?.role === 'leader');
    leaders.sort((a, b) => (b.state?.term ?? 0) - (a.state?.term ?? 0));
    return leaders[0];
  }

  /** recentEvents returns the merged events, newest first. */
  recentEvents(): ClusterEvent[] {
    return [...this.events.values()].sort((a, b) => b.at - a.at || b.seq - a.seq);
  }

  /** toast shows the outcome of an action for a few seconds. */
  toast(text: string, error = false): void {
    const t = { id: ++this.toastSeq, text, error };
    this.toasts = [...this.toasts, t].slice(-4);
    this.changed();
    setTimeout(() => {
      this.toasts = this.toasts.filter((x) => x !== t);
      this.changed();
    }, 5000);
  }

  /** note records an event of the person's own (an action taken). */
  note(text: string): void {
    const at = Date.now();
    const key = `control:${at}:${text}`;
    this.events.set(key, { seq: 0, at, node: 0, kind: 'control', text, key, seenBy: [] });
    this.changed();
  }

  // ---------------------------------------------------------------------------------------

  private memberUrl(id: number): string | undefined {
    for (const s of this.states.values()) {
      const m = s.members.find((x) => x.id === id);
      const u = m?.clientURLs[0];
      if (u !== undefined) return u;
    }
    return undefined;
  }

  private changed(): void {
    this.version++;
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    requestAnimationFrame(() => {
      this.notifyScheduled = false;
      for (const l of this.listeners) l();
    });
  }

  private connect(url: string): void {
    const origin = new URL(url).origin;
    if (this.conns.has(origin)) return;
    const conn: Conn = {
      url: origin,
      source: undefined,
      id: undefined,
      link: 'connecting',
      retry: undefined,
    };
    this.conns.set(origin, conn);
    this.open(conn);
  }

  private open(conn: Conn): void {
    const es = new EventSource(`${conn.url}/dashboard/api/stream`);
    conn.source = es;
    es.addEventListener('hello', (e) => this.onHello(conn, JSON.parse(e.data as string) as Hello));
    es.addEventListener('state', (e) =>
      this.onState(conn, JSON.parse(e.data as string) as NodeState),
    );
    es.addEventListener('event', (e) => this.onEvent(JSON.parse(e.data as string) as RaftEvent));
    es.addEventListener('sample', (e) => {
      if (conn.id !== undefined) this.addSamples(conn.id, [JSON.parse(e.data as string) as Sample]);
    });
    es.onerror = () => {
      conn.link = 'down';
      this.changed();
      // EventSource retries by itself after a network error, but not after an HTTP error.
      if (es.readyState === EventSource.CLOSED && conn.retry === undefined) {
        conn.retry = setTimeout(() => {
          conn.retry = undefined;
          this.open(conn);
        }, 2000);
      }
    };
  }

  private onHello(conn: Conn, h: Hello): void {
    conn.link = 'up';
    conn.id = h.state.id;
    this.samples.set(h.state.id, h.samples.slice(-MAX_SAMPLES));
    for (const e of h.events) this.onEvent(e);
    this.onState(conn, h.state);
  }

  private onState(conn: Conn, s: NodeState): void {
    conn.link = 'up';
    conn.id = s.id;
    this.states.set(s.id, s);
    for (const m of s.members) for (const u of m.clientURLs) if (URL.canParse(u)) this.connect(u);
    if (s.controlUrl !== undefined && this.controlUrl === undefined)
      this.startControl(s.controlUrl);
    this.changed();
  }

  private onEvent(e: RaftEvent): void {
    const known = this.events.get(e.key);
    if (known !== undefined) {
      if (!known.seenBy.includes(e.node)) known.seenBy = [...known.seenBy, e.node].sort();
      known.at = Math.min(known.at, e.at);
    } else {
      this.events.set(e.key, { ...e, seenBy: [e.node] });
      if (this.events.size > MAX_EVENTS) {
        const oldest = this.recentEvents().slice(MAX_EVENTS);
        for (const o of oldest) this.events.delete(o.key);
      }
    }
    this.changed();
  }

  private addSamples(id: number, s: Sample[]): void {
    const list = [...(this.samples.get(id) ?? []), ...s];
    this.samples.set(id, list.slice(-MAX_SAMPLES));
    this.changed();
  }

  // ---------------------------------------------------------------------------------------
  // The supervisor of `raftkv local`

  private startControl(url: string): void {
    this.controlUrl = url;
    const poll = () => void this.pollControl();
    poll();
    this.controlTimer = setInterval(poll, 1000);
  }

  /** pollControl reads the supervisor's node list. */
  async pollControl(): Promise<void> {
    if (this.controlUrl === undefined) return;
    try {
      const r = await fetch(`${this.controlUrl}/cluster`, { signal: AbortSignal.timeout(3000) });
      if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
      const body = (await r.json()) as { nodes: ControlNode[] };
      this.controlNodes = body.nodes;
      this.controlError = undefined;
      for (const n of body.nodes) if (URL.canParse(n.clientUrl)) this.connect(n.clientUrl);
    } catch (err) {
      this.controlError = err instanceof Error ? err.message : String(err);
    }
    this.changed();
  }

  /** control asks the supervisor to kill, restart, isolate or heal member id. */
  async control(id: number, action: 'kill' | 'restart' | 'isolate' | 'heal'): Promise<void> {
    if (this.controlUrl === undefined) throw new Error('no supervisor');
    const r = await fetch(`${this.controlUrl}/nodes/${id}/${action}`, {
      method: 'POST',
      signal: AbortSignal.timeout(15_000),
    });
    if (!r.ok) throw new Error(await errorText(r));
    await this.pollControl();
  }

  /** post sends an action to member `url`'s dashboard API. */
  async post(url: string, path: string, method: string, body?: unknown): Promise<unknown> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(10_000) };
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    const r = await fetch(`${new URL(url).origin}${path}`, init);
    if (!r.ok) throw new Error(await errorText(r));
    return r.json();
  }

  /** close ends every stream and timer. */
  close(): void {
    clearInterval(this.controlTimer);
    for (const c of this.conns.values()) {
      c.source?.close();
      clearTimeout(c.retry);
    }
  }
}

async function errorText(r: Response): Promise<string> {
  try {
    const body = (await r.json()) as { error?: string };
    return body.error ?? `${r.status} ${r.statusText}`;
  } catch {
    return `${r.status} ${r.statusText}`;
  }
}
