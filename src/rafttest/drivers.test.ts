// Replays etcd-raft's quorum and confchange conformance files through their drivers and
// requires byte-for-byte equal output.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { newConfChangeDriver } from './confchange_driver.ts';
import { runDataDriven } from './datadriven.ts';
import type { TestData } from './datadriven.ts';
import { handleQuorumCommand } from './quorum_driver.ts';

/** ../shared/conformance relative to the repository root. */
const conformanceDir = fileURLToPath(new URL('../../../shared/conformance', import.meta.url));

const suites: { folder: string; newHandler: () => (d: TestData) => string }[] = [
  { folder: 'quorum/testdata', newHandler: () => handleQuorumCommand },
  { folder: 'confchange/testdata', newHandler: newConfChangeDriver },
];

for (const { folder, newHandler } of suites) {
  const dir = join(conformanceDir, folder);
  void describe(`conformance ${folder}`, () => {
    if (!existsSync(dir)) {
      void it('replays every file', (t) => {
        console.warn(`SKIPPED: conformance folder ${dir} is absent`);
        t.skip(`conformance folder ${dir} is absent`);
      });
      return;
    }
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.txt') && !f.startsWith('.'))
      .sort();
    void it('has files', () => assert.ok(files.length > 0, `no .txt files in ${dir}`));
    for (const file of files) {
      void it(file, () => {
        const r = runDataDriven(readFileSync(join(dir, file), 'utf8'), file, newHandler());
        assert.ok(r.passed, `${file} failed:\n${r.diff}`);
        assert.ok(r.cases > 0, `${file} has no cases`);
      });
    }
  });
}
