import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DeadlineWheel } from './deadlines.ts';
import type { Expiring, Slot } from './deadlines.ts';

class Item implements Expiring {
  slot: Slot | undefined = undefined;
  index = 0;
  expiredAt: number | undefined;
  constructor(
    readonly name: string,
    private readonly clock: { t: number },
  ) {}
  expire(): void {
    this.expiredAt = this.clock.t;
  }
}

describe('DeadlineWheel', () => {
  test('remainingMs: time left until an item expires, rounded up; 0 once it left', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const clock = { t: 3 };
    const wheel = new DeadlineWheel({ resolutionMs: 10, now: () => clock.t });
    const a = new Item('a', clock);
    wheel.add(a, 25);
    assert.equal(wheel.remainingMs(a), 27, 'due at tick 3 (30 ms)');
    clock.t = 20;
    assert.equal(wheel.remainingMs(a), 10);
    wheel.remove(a);
    assert.equal(wheel.remainingMs(a), 0);
  });

  test('expires items in deadline order, not before their deadline, one timer', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const clock = { t: 0 };
    const wheel = new DeadlineWheel({ resolutionMs: 10, now: () => clock.t });
    const a = new Item('a', clock);
    const b = new Item('b', clock);
    const c = new Item('c', clock);
    wheel.add(a, 100);
    wheel.add(b, 25);
    wheel.add(c, 100);
    assert.equal(wheel.size, 3);
    const advance = (ms: number) => {
      clock.t += ms;
      t.mock.timers.tick(ms);
    };
    advance(29);
    assert.equal(b.expiredAt, undefined);
    advance(1);
    assert.equal(b.expiredAt, 30);
    wheel.remove(c);
    advance(70);
    assert.equal(a.expiredAt, 100);
    assert.equal(c.expiredAt, undefined);
    assert.equal(wheel.size, 0);
  });

  test('removing every item disarms it; close forgets items', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const clock = { t: 0 };
    const wheel = new DeadlineWheel({ now: () => clock.t });
    const items = Array.from({ length: 5 }, (_, i) => new Item(String(i), clock));
    for (const it of items) wheel.add(it, 50);
    for (const it of items) wheel.remove(it);
    wheel.remove(items[0] as Item);
    assert.equal(wheel.size, 0);
    for (const it of items) wheel.add(it, 50);
    wheel.close();
    clock.t = 1000;
    t.mock.timers.tick(1000);
    assert.ok(items.every((it) => it.expiredAt === undefined && it.slot === undefined));
  });

  test('against a naive list: every item expires once, at its rounded-up deadline', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const ops = fc.array(
      fc.oneof(
        fc.record({ add: fc.nat(300) }),
        fc.record({ remove: fc.nat() }),
        fc.record({ advance: fc.nat(60) }),
      ),
      { maxLength: 80 },
    );
    fc.assert(
      fc.property(ops, (script) => {
        const clock = { t: 0 };
        const wheel = new DeadlineWheel({ resolutionMs: 10, now: () => clock.t });
        const live: { item: Item; due: number }[] = [];
        const all: { item: Item; due: number | undefined }[] = [];
        for (const op of script) {
          if ('add' in op) {
            const item = new Item(String(all.length), clock);
            const due = Math.ceil((clock.t + op.add) / 10) * 10;
            wheel.add(item, op.add);
            live.push({ item, due });
            all.push({ item, due });
          } else if ('remove' in op) {
            if (live.length === 0) continue;
            const [gone] = live.splice(op.remove % live.length, 1);
            if (gone === undefined) continue;
            wheel.remove(gone.item);
            const rec = all.find((x) => x.item === gone.item);
            if (rec !== undefined && gone.item.expiredAt === undefined) rec.due = undefined;
          } else {
            clock.t += op.advance;
            t.mock.timers.tick(op.advance);
          }
          for (let i = live.length - 1; i >= 0; i--) {
            if ((live[i] as { item: Item }).item.expiredAt !== undefined) live.splice(i, 1);
          }
        }
        // A timer fires 1 ms at the earliest (setTimeout's 0 is 1), so an item whose deadline
        // rounds to exactly now may not have expired yet (fast-check found [{ add: 0 }]).
        for (const { item, due } of all) {
          if (due === undefined || due >= clock.t) continue;
          assert.ok(item.expiredAt !== undefined, `item ${item.name} due ${due} not expired`);
        }
        for (const { item, due } of all) {
          if (item.expiredAt === undefined) continue;
          assert.ok(due !== undefined && item.expiredAt >= due, `item ${item.name} early`);
        }
        assert.equal(wheel.size, live.length);
        wheel.close();
      }),
    );
  });
});
