// Runs the project's own interaction scenarios (test/scenarios/*.txt, the datadriven language
// of the etcd-raft conformance files) with a fresh InteractionEnv per file. The etcd-raft
// files themselves run through `npm run conformance`.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { runDataDriven } from '../src/rafttest/datadriven.ts';
import { newInteractionHandler } from '../src/rafttest/interaction_env_handler.ts';

const dir = new URL('./scenarios/', import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.txt') && !f.startsWith('.'))
  .sort();

void describe('interaction scenarios', () => {
  void it('exist', () => {
    assert.ok(files.length > 0);
  });
  for (const f of files) {
    void it(f, () => {
      const text = readFileSync(new URL(f, dir), 'utf8');
      const r = runDataDriven(text, `test/scenarios/${f}`, newInteractionHandler());
      assert.ok(r.passed, r.diff);
    });
  }
});
