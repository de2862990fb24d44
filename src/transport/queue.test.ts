// MessageQueue against a plain array (the naive model), under random pushes and takes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { newMessage } from '../raftpb/types.ts';
import type { SizedMessage } from './frame.ts';
import { MessageQueue } from './queue.ts';

test('MessageQueue behaves like an array with shift', () => {
  const op = fc.oneof(
    fc.record({ push: fc.integer({ min: 0, max: 100 }), n: fc.integer({ min: 1, max: 3000 }) }),
    fc.record({ take: fc.integer({ min: 0, max: 2000 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const q = new MessageQueue();
      let model: SizedMessage[] = [];
      let seq = 0;
      for (const o of ops) {
        if ('push' in o) {
          for (let i = 0; i < o.n; i++) {
            const item = { message: newMessage({ type: 8, index: seq++ }), size: o.push };
            q.push(item);
            model.push(item);
          }
        } else {
          const got = q.take(o.take);
          let n = 0;
          let body = 0;
          while (n < model.length && (n === 0 || body + 4 + model[n]!.size <= o.take)) {
            body += 4 + model[n]!.size;
            n++;
          }
          assert.deepEqual(got, model.slice(0, n));
          model = model.slice(n);
        }
        assert.equal(q.length, model.length);
        assert.equal(
          q.bytes,
          model.reduce((s, x) => s + x.size, 0),
        );
      }
    }),
    { numRuns: 200 },
  );
});
