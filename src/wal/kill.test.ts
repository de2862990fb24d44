// Real crashes: a child process writes under load and is killed with SIGKILL; the parent
// reopens the directory and checks that every acknowledged entry is there and that every
// entry present is one the child wrote.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openDiskStorage } from './storage.ts';
import { payload } from './testing.ts';

const child = fileURLToPath(new URL('./testdata/kill_writer.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

/** runAndKill starts the writer, waits for `acks` acknowledgements, kills it with SIGKILL. */
function runAndKill(dir: string, acks: number): Promise<{ acked: number[]; term: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dir], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: number[] = [];
    let term = 0;
    let buf = '';
    let killed = false;
    const timer = setTimeout(() => kill(), 20_000);
    function kill(): void {
      if (killed) return;
      killed = true;
      p.kill('SIGKILL');
    }
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        const [what, n, , t] = l.split(' ');
        if (what === 'ack') acked.push(Number(n));
        if (what === 'ready') term = Number(t);
      }
      // Kill at a moment that varies with the run: mid-flight, under load.
      if (acked.length >= acks) setTimeout(kill, acked.length % 7);
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code ?? signal}`));
      else resolve({ acked, term });
    });
  });
}

void test('kill -9 under load: every acknowledged entry survives, nothing is invented', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'wal-kill-'));
  const dir = join(base, 'wal');
  try {
    const terms = new Map<number, number>(); // index -> term of the acknowledged entry
    for (const [round, acks] of [1500, 900, 2500].entries()) {
      const { acked, term } = await runAndKill(dir, acks);
      assert.ok(acked.length >= acks, `round ${round}: ${acked.length} acks`);
      for (const i of acked) terms.set(i, term);
      const s = await openDiskStorage(dir, { segmentSize: 64 * 1024 });
      const [first, last] = [s.firstIndex(), s.lastIndex()];
      const maxAcked = Math.max(...terms.keys());
      assert.ok(last >= maxAcked, `round ${round}: last ${last} < acknowledged ${maxAcked}`);
      let prevTerm = 0;
      for (const e of s.entries(first, last + 1, Infinity)) {
        assert.deepEqual(e.data, payload(e.index, e.term, 100), `entry ${e.index} was invented`);
        const want = terms.get(e.index);
        if (want !== undefined) assert.equal(e.term, want, `acknowledged entry ${e.index}`);
        assert.ok(e.term >= prevTerm, 'terms never decrease along the log');
        prevTerm = e.term;
      }
      assert.ok(s.initialState().hardState.commit <= last);
      t.diagnostic(
        `round ${round}: acked ${acked.length}, log [${first}, ${last}], snapshot ${s.snapshot().metadata.index}, torn ${s.recovery.tornTail !== undefined}`,
      );
      await s.close();
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
