// Three processes, each a Node over the TCP transport on 127.0.0.1: they elect a leader,
// replicate, and keep going after the leader is killed (SIGKILL).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { after, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { waitFor } from '../src/transport/testing.ts';
import { freePorts } from './raftkv_procs.ts';

const script = fileURLToPath(new URL('./transport_cluster_member.ts', import.meta.url));

interface Status {
  leader: number;
  values: string[];
}

/** Member drives one child process over its JSON-lines protocol. */
class Member {
  readonly proc: ChildProcessByStdio<Writable, Readable, null>;
  ready = false;
  exited = false;
  readonly #waiting = new Map<number, (x: Record<string, unknown>) => void>();
  #seq = 0;

  constructor(id: number, ports: number[]) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', script, String(id), ports.join(',')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.proc.once('exit', () => (this.exited = true));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const x = JSON.parse(line) as Record<string, unknown>;
      if ('ready' in x) this.ready = true;
      const seq = x['seq'];
      if (typeof seq === 'number') this.#waiting.get(seq)?.(x);
    });
  }

  #ask(op: string, value?: string): Promise<Record<string, unknown>> {
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      this.#waiting.set(seq, resolve);
      this.proc.stdin.write(`${JSON.stringify({ seq, op, value })}\n`);
    });
  }

  async status(): Promise<Status> {
    return (await this.#ask('status')) as unknown as Status;
  }

  async propose(value: string): Promise<Record<string, unknown>> {
    return this.#ask('propose', value);
  }
}

const members: Member[] = [];
after(() => {
  for (const m of members) if (!m.exited) m.proc.kill('SIGKILL');
});

/** poll awaits `check` every 20 ms until it returns true; it throws after timeoutMs. */
async function poll(what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(20);
  }
}

/** agreedLeader waits until the live members all name the same leader (not `not`). */
async function agreedLeader(live: Member[], not = 0): Promise<number> {
  let leader = 0;
  await poll('a leader all live members agree on', async () => {
    const ss = await Promise.all(live.map((m) => m.status()));
    const l = ss[0]!.leader;
    if (l !== 0 && l !== not && ss.every((s) => s.leader === l)) leader = l;
    return leader !== 0;
  });
  return leader;
}

/** replicated waits until every live member has applied exactly `values`. */
async function replicated(live: Member[], values: string[]): Promise<void> {
  await poll(`values ${values.join(',')} on every live member`, async () => {
    const ss = await Promise.all(live.map((m) => m.status()));
    return ss.every((s) => s.values.join(',') === values.join(','));
  });
}

test('3 processes over TCP elect, replicate, and survive killing the leader', async () => {
  const ports = await freePorts(3);
  for (const id of [1, 2, 3]) members.push(new Member(id, ports));
  await waitFor(
    '3 members up',
    () => {
      if (members.some((m) => m.exited)) throw new Error('a member exited during start-up');
      return members.every((m) => m.ready);
    },
    { timeoutMs: 30_000 },
  );

  const first = await agreedLeader(members);
  const leader = members[first - 1]!;
  for (const v of ['a', 'b', 'c']) {
    const r = await leader.propose(v);
    assert.equal(r['error'], undefined);
  }
  // A follower's proposal is forwarded to the leader over the transport too.
  const follower = members.find((m) => m !== leader)!;
  assert.deepEqual((await follower.propose('d'))['result'], 4);
  await replicated(members, ['a', 'b', 'c', 'd']);

  leader.proc.kill('SIGKILL');
  await waitFor('the leader process is gone', () => leader.exited);
  const live = members.filter((m) => m !== leader);
  const second = await agreedLeader(live, first);
  assert.notEqual(second, first);
  const r = await members[second - 1]!.propose('e');
  assert.equal(r['error'], undefined);
  assert.equal(r['result'], 5);
  await replicated(live, ['a', 'b', 'c', 'd', 'e']);
});
