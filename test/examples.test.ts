// The README's examples are programs; they must run and print what they claim.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

test('examples/minimal.ts (the README RawNode loop) commits and applies its proposal', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'examples/minimal.ts'], {
    encoding: 'utf8',
  });
  assert.equal(out.trim(), 'applied: hello');
});
