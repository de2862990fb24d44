/**
 * The bounded chaos set of CI (docs/chaos.md): `npm run chaos -- --bounded`, every fault kind
 * once on 3 real raftkv processes, then the size-dependent ones on 5, in about two minutes;
 * with `CHAOS_REVERSED=1` (`--reversed`) every kind again on 3 in the opposite order, one
 * minute more. It passes when the runner's last line reports no violation and no lost write.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
const seed = process.env.CHAOS_SEED ?? '1';
const reversed = process.env.CHAOS_REVERSED === '1';

void test(
  'chaos: every fault kind on real processes, linearizable, no write lost',
  { timeout: 420_000 },
  async () => {
    const args = ['--import', 'tsx', cli, '--bounded', '--seed', seed];
    if (reversed) args.push('--reversed');
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      out += s;
      process.stderr.write(s);
    });
    const killer = setTimeout(() => child.kill('SIGINT'), 400_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(killer);
    const last = out.trim().split('\n').at(-1) ?? '';
    const m = /^chaos: (\d+) runs, (\d+) ops checked, (\d+) violations, (\d+) lost writes$/.exec(
      last,
    );
    assert.ok(m !== null, `no summary line; output ends with:\n${out.slice(-3000)}`);
    assert.equal(Number(m[1]), reversed ? 3 : 2, 'runs');
    assert.ok(Number(m[2]) > 5000, `ops checked: ${m[2]}`);
    assert.equal(Number(m[3]), 0, 'violations');
    assert.equal(Number(m[4]), 0, 'lost writes');
    assert.equal(code, 0);
  },
);
