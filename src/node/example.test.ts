// Runs the replicated counter of docs/node.md (examples/counter.ts), in process and as a script.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mock, test } from 'node:test';
import { main } from '../../examples/counter.ts';

const script = fileURLToPath(new URL('../../examples/counter.ts', import.meta.url));

void test('examples/counter.ts: each proposal returns the new value, every replica reaches 42', async () => {
  const log = mock.method(console, 'log', () => undefined);
  try {
    assert.deepEqual(await main(), [42, 42, 42]);
    assert.deepEqual(
      log.mock.calls.map((c) => c.arguments),
      [[1], [3], [42]],
    );
  } finally {
    log.mock.restore();
  }
});

void test('examples/counter.ts runs as a script', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\[ 42, 42, 42 \]\n$/);
});

void test('docs/node.md shows examples/counter.ts as it is, in under 40 lines', () => {
  const source = readFileSync(script, 'utf8');
  const doc = readFileSync(new URL('../../docs/node.md', import.meta.url), 'utf8');
  assert.ok(doc.includes('```ts\n' + source + '```\n'), 'docs/node.md is out of date');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes('```ts\n' + source + '```\n'), 'README.md is out of date');
  assert.ok(source.split('\n').length - 1 < 40);
});
