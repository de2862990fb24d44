/** The dashboard page: cluster header, member cards, replication, charts, events, actions. */
import { useEffect, useState } from 'preact/hooks';
import type { ProgressView } from '../protocol.ts';
import { Chart } from './chart.tsx';
import type { ChartSeries } from './chart.tsx';
import { ago, bytes, clock, colorOf, count, hostOf, ms } from './format.ts';
import type { ClusterEvent, ClusterStore, NodeEntry } from './store.ts';

/** useStore re-renders the component whenever the store changes. */
function useStore(store: ClusterStore): void {
  const [, setVersion] = useState(0);
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
}

/** useNow re-renders every second (for "3 s ago"). */
function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

type Run = (what: string, f: () => Promise<unknown>) => void;

function runner(store: ClusterStore, busy: (b: string | undefined) => void): Run {
  return (what, f) => {
    busy(what);
    store.note(what);
    f()
      .then(
        () => store.toast(`${what}: done`),
        (err: unknown) =>
          store.toast(`${what}: ${err instanceof Error ? err.message : String(err)}`, true),
      )
      .finally(() => busy(undefined));
  };
}

/** roleOf is what a card shows: the member's role, or down when its stream is lost. */
function roleOf(n: NodeEntry): string {
  if (n.control !== undefined && !n.control.running) return 'down';
  if (n.link !== 'up' || n.state === undefined)
    return n.link === 'connecting' ? 'connecting' : 'down';
  return n.state.role;
}

/** App is the whole page. */
export function App({ store }: { store: ClusterStore }) {
  useStore(store);
  const now = useNow();
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const run = runner(store, setBusy);
  const nodes = store.nodes();
  const ids = nodes.map((n) => n.id);
  const leader = store.leader();
  return (
    <div class="page">
      <Header store={store} nodes={nodes} leader={leader} />
      <section class="cards" data-testid="cards">
        {nodes.map((n) => (
          <NodeCard
            key={n.id}
            n={n}
            ids={ids}
            leader={leader}
            store={store}
            run={run}
            busy={busy}
            now={now}
          />
        ))}
      </section>
      <div class="columns">
        <div class="main-col">
          <Replication leader={leader} nodes={nodes} ids={ids} />
          <Charts nodes={nodes} ids={ids} />
          <Membership store={store} leader={leader} run={run} busy={busy} />
        </div>
        <div class="side-col">
          <Events events={store.recentEvents()} ids={ids} />
        </div>
      </div>
      <div class="toasts">
        {store.toasts.map((t) => (
          <div key={t.id} class={`toast${t.error ? ' error' : ''}`}>
            {t.text}
          </div>
        ))}
      </div>
    </div>
  );
}

function Header(p: { store: ClusterStore; nodes: NodeEntry[]; leader: NodeEntry | undefined }) {
  const up = p.nodes.filter((n) => n.link === 'up').length;
  const s = p.leader?.state ?? p.nodes.find((n) => n.state !== undefined)?.state;
  return (
    <header class="header">
      <div class="brand">
        <span class="logo">◆</span> raftkv
        <span class="subtitle">cluster dashboard</span>
      </div>
      <div class="facts">
        <Fact label="cluster" value={s !== undefined ? s.clusterId.toString(16) : '–'} />
        <Fact label="members up" value={`${up} / ${p.nodes.length}`} testId="members-up" />
        <Fact
          label="leader"
          value={p.leader !== undefined ? `node ${p.leader.id}` : 'none'}
          testId="leader"
          tone={p.leader !== undefined ? 'good' : 'bad'}
        />
        <Fact label="term" value={p.leader?.state?.term ?? s?.term ?? '–'} />
        <Fact label="revision" value={count(p.leader?.state?.revision)} />
        {p.store.controlUrl !== undefined && (
          <Fact
            label="supervisor"
            value={p.store.controlError === undefined ? hostOf(p.store.controlUrl) : 'unreachable'}
            tone={p.store.controlError === undefined ? 'good' : 'bad'}
          />
        )}
      </div>
    </header>
  );
}

function Fact(p: {
  label: string;
  value: string | number;
  testId?: string;
  tone?: 'good' | 'bad';
}) {
  return (
    <div class="fact">
      <div class="fact-label">{p.label}</div>
      <div class={`fact-value ${p.tone ?? ''}`} data-testid={p.testId}>
        {p.value}
      </div>
    </div>
  );
}

interface CardProps {
  n: NodeEntry;
  ids: number[];
  leader: NodeEntry | undefined;
  store: ClusterStore;
  run: Run;
  busy: string | undefined;
  now: number;
}

function NodeCard({ n, ids, leader, store, run, busy, now }: CardProps) {
  const role = roleOf(n);
  const s = n.state;
  const live = role !== 'down' && role !== 'connecting';
  const isolated = n.control?.isolated === true;
  const leaderUrl = leader?.url;
  const isVoter = leader?.state?.voters.includes(n.id) ?? false;
  const isMember = leader?.state?.members.some((m) => m.id === n.id) ?? true;
  const name = s?.name !== undefined && s.name !== '' ? s.name : `node ${n.id}`;
  return (
    <article
      class={`card role-${role}${isolated ? ' isolated' : ''}`}
      data-testid="node-card"
      data-node-id={n.id}
      data-role={role}
      data-link={n.link}
      style={{ '--node': colorOf(n.id, ids) }}
    >
      <div class="card-head">
        <div>
          <div class="node-id">node {n.id}</div>
          <div class="node-name">
            {name} · {hostOf(n.url)}
          </div>
        </div>
        <div class="badges">
          {isolated && <span class="badge isolated">isolated</span>}
          {!isMember && <span class="badge muted">removed</span>}
          <span class={`badge role ${role}`} data-testid="role">
            {role}
          </span>
        </div>
      </div>
      <dl class={`stats${live ? '' : ' stale'}`}>
        <Stat label="term" value={s?.term} />
        <Stat
          label="leader"
          value={s === undefined ? undefined : s.leader === 0 ? 'none' : s.leader}
        />
        <Stat label="commit" value={s?.commit} />
        <Stat label="applied" value={s?.applied} />
        <Stat label="last index" value={s?.lastIndex} />
        <Stat label="snapshot" value={s?.snapshotIndex} />
      </dl>
      <div class="card-foot">
        {live ? (
          <span class="muted">
            {s?.proposals.pending ?? 0} pending · up {ago(s?.startedAt ?? now, now)}
          </span>
        ) : (
          <span class="muted">
            {s === undefined ? 'not reached yet' : `last seen ${ago(s.at, now)} ago`}
          </span>
        )}
      </div>
      <div class="actions">
        {live &&
          role !== 'leader' &&
          isVoter &&
          leaderUrl !== undefined &&
          leader !== undefined && (
            <button
              data-action="transfer"
              disabled={busy !== undefined}
              onClick={() =>
                run(`transfer leadership to node ${n.id}`, () =>
                  store.post(leaderUrl, '/dashboard/api/transfer-leadership', 'POST', { to: n.id }),
                )
              }
            >
              Make leader
            </button>
          )}
        {isMember && leaderUrl !== undefined && (
          <button
            data-action="remove"
            class="subtle"
            disabled={busy !== undefined}
            onClick={() =>
              run(`remove member ${n.id}`, () =>
                store.post(leaderUrl, `/dashboard/api/members/${n.id}`, 'DELETE'),
              )
            }
          >
            Remove
          </button>
        )}
        {n.control !== undefined && n.control.running && (
          <button
            data-action="kill"
            class="danger"
            disabled={busy !== undefined}
            onClick={() => run(`kill node ${n.id}`, () => store.control(n.id, 'kill'))}
          >
            Kill
          </button>
        )}
        {n.control !== undefined && !n.control.running && (
          <button
            data-action="restart"
            class="primary"
            disabled={busy !== undefined}
            onClick={() => run(`restart node ${n.id}`, () => store.control(n.id, 'restart'))}
          >
            Restart
          </button>
        )}
        {n.control !== undefined && n.control.running && (
          <button
            data-action={isolated ? 'heal' : 'isolate'}
            class="subtle"
            disabled={busy !== undefined}
            onClick={() =>
              run(`${isolated ? 'heal' : 'isolate'} node ${n.id}`, () =>
                store.control(n.id, isolated ? 'heal' : 'isolate'),
              )
            }
          >
            {isolated ? 'Heal' : 'Isolate'}
          </button>
        )}
      </div>
    </article>
  );
}

function Stat(p: { label: string; value: number | string | undefined }) {
  return (
    <div class="stat">
      <dt>{p.label}</dt>
      <dd>{typeof p.value === 'number' ? count(p.value) : (p.value ?? '–')}</dd>
    </div>
  );
}

function Replication(p: { leader: NodeEntry | undefined; nodes: NodeEntry[]; ids: number[] }) {
  const s = p.leader?.state;
  const rows: ProgressView[] = s?.progress.filter((x) => x.id !== s.id) ?? [];
  const peers = new Map((s?.peers ?? []).map((x) => [x.id, x]));
  const last = s?.lastIndex ?? 0;
  const scale = Math.max(100, ...rows.map((r) => last - r.match));
  return (
    <section class="panel" data-testid="replication">
      <h2>
        Replication
        <span class="muted">
          {s !== undefined ? ` from leader ${s.id} · last index ${count(last)}` : ''}
        </span>
      </h2>
      {s === undefined ? (
        <p class="empty">No leader: nothing is being replicated.</p>
      ) : rows.length === 0 ? (
        <p class="empty">
          {s.voters.length + s.learners.length > 1
            ? 'The leader does not report its followers’ progress (its telemetry has no node attached).'
            : 'A single member: nothing to replicate.'}
        </p>
      ) : (
        <table class="progress">
          <thead>
            <tr>
              <th>member</th>
              <th>state</th>
              <th class="num">match</th>
              <th class="num">next</th>
              <th class="num">inflight</th>
              <th>lag</th>
              <th class="num">rtt</th>
              <th class="num">sent</th>
              <th class="num">received</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => {
              const lag = Math.max(0, last - r.match);
              const peer = peers.get(r.id);
              return (
                <tr key={r.id} data-testid="progress-row" data-node-id={r.id} data-state={r.state}>
                  <td>
                    <span class="dot" style={{ background: colorOf(r.id, p.ids) }} />
                    node {r.id}
                    {r.learner && <span class="badge muted small">learner</span>}
                    {!r.recentActive && <span class="badge warn small">inactive</span>}
                  </td>
                  <td>
                    <span class={`pill ${r.state}`}>{r.state}</span>
                    {r.paused && <span class="muted small-text"> paused</span>}
                  </td>
                  <td class="num">{count(r.match)}</td>
                  <td class="num">{count(r.next)}</td>
                  <td class="num">
                    {r.inflight}
                    {r.inflightBytes > 0 && <span class="muted"> · {bytes(r.inflightBytes)}</span>}
                  </td>
                  <td class="lag">
                    <div class="bar">
                      <div class="fill" style={{ width: `${(lag / scale) * 100}%` }} />
                    </div>
                    <span class="muted">{count(lag)}</span>
                  </td>
                  <td class="num">{ms(peer?.rttMs)}</td>
                  <td class="num">{bytes(peer?.sentBytes)}</td>
                  <td class="num">{bytes(peer?.receivedBytes)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** align puts every member's samples on one time axis (whole seconds). */
function align(nodes: NodeEntry[]): number[] {
  const xs = new Set<number>();
  for (const n of nodes) for (const s of n.samples) xs.add(Math.round(s.t / 1000));
  return [...xs].sort((a, b) => a - b).slice(-180);
}

function seriesOf(
  nodes: NodeEntry[],
  ids: number[],
  xs: number[],
  pick: (s: NodeEntry['samples'][number]) => number | undefined,
  suffix = '',
  dash?: number[],
): ChartSeries[] {
  return nodes
    .filter((n) => n.samples.some((s) => pick(s) !== undefined))
    .map((n) => {
      const at = new Map(n.samples.map((s) => [Math.round(s.t / 1000), pick(s)]));
      return {
        label: `node ${n.id}${suffix}`,
        color: colorOf(n.id, ids),
        ...(dash !== undefined ? { dash } : {}),
        values: xs.map((x) => at.get(x) ?? null),
      };
    });
}

function Charts(p: { nodes: NodeEntry[]; ids: number[] }) {
  const xs = align(p.nodes);
  const rate = seriesOf(p.nodes, p.ids, xs, (s) => s.applyRate);
  const p99 = seriesOf(p.nodes, p.ids, xs, (s) => s.p99Ms, ' p99');
  const p50 = seriesOf(p.nodes, p.ids, xs, (s) => s.p50Ms, ' p50', [4, 4]);
  return (
    <section class="panel charts">
      <Chart
        title="Throughput"
        unit="entries applied / s"
        xs={xs}
        series={rate}
        testId="throughput"
      />
      <Chart
        title="Commit latency"
        unit="ms, propose → applied, log scale"
        xs={xs}
        series={[...p99, ...p50]}
        log
        testId="latency"
      />
    </section>
  );
}

const KIND_LABELS: Record<ClusterEvent['kind'], string> = {
  leader: 'leader',
  election: 'election',
  membership: 'config',
  snapshot: 'snapshot',
  transfer: 'transfer',
  fatal: 'fatal',
  control: 'action',
};

function Events(p: { events: ClusterEvent[]; ids: number[] }) {
  return (
    <section class="panel events" data-testid="events">
      <h2>Events</h2>
      {p.events.length === 0 && <p class="empty">Nothing yet.</p>}
      <ol>
        {p.events.slice(0, 60).map((e) => (
          <li key={e.key} class={`event ${e.kind}`}>
            <span class="time">{clock(e.at)}</span>
            <span class={`kind ${e.kind}`}>{KIND_LABELS[e.kind]}</span>
            <span class="text">{e.text}</span>
            {e.seenBy.length > 1 && <span class="seen">seen by {e.seenBy.join(', ')}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

function Membership(p: {
  store: ClusterStore;
  leader: NodeEntry | undefined;
  run: Run;
  busy: string | undefined;
}) {
  const [peerURL, setPeerURL] = useState('');
  const [learner, setLearner] = useState(true);
  const leaderUrl = p.leader?.url;
  const submit = (e: Event) => {
    e.preventDefault();
    if (leaderUrl === undefined || peerURL === '') return;
    p.run(`add ${learner ? 'learner' : 'voter'} at ${peerURL}`, () =>
      p.store.post(leaderUrl, '/dashboard/api/members', 'POST', { peerURL, learner }),
    );
    setPeerURL('');
  };
  return (
    <section class="panel">
      <h2>Add a member</h2>
      <form class="add" onSubmit={submit}>
        <input
          type="url"
          placeholder="peer URL, e.g. http://127.0.0.1:32380"
          value={peerURL}
          onInput={(e) => setPeerURL((e.target as HTMLInputElement).value)}
        />
        <label>
          <input
            type="checkbox"
            checked={learner}
            onChange={(e) => setLearner((e.target as HTMLInputElement).checked)}
          />{' '}
          learner
        </label>
        <button
          class="primary"
          disabled={leaderUrl === undefined || p.busy !== undefined || peerURL === ''}
        >
          Add
        </button>
      </form>
      <p class="hint">
        The new member joins the configuration; start it with <code>raftkv serve --join</code>.
        {p.store.controlUrl === undefined &&
          ' Kill, restart and isolate appear when the cluster runs under raftkv local.'}
      </p>
    </section>
  );
}
