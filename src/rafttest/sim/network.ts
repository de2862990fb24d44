/**
 * The simulated network: per-message delay, loss, duplication and reordering, plus
 * partitions as a set of cut directed links. It only decides; the simulator queues the
 * deliveries on its clock.
 */
import type { Prng } from './prng.ts';

/** NetworkConditions are the fault rates in force (rates per mille, times in ms). */
export interface NetworkConditions {
  minDelay: number;
  maxDelay: number;
  dropPm: number;
  dupPm: number;
  longPm: number;
}

/** Network holds the conditions and the cut links. */
export class Network {
  conditions: NetworkConditions;
  private readonly cut = new Set<number>();
  private readonly rng: Prng;

  constructor(rng: Prng, conditions: NetworkConditions) {
    this.rng = rng;
    this.conditions = { ...conditions };
  }

  /** isCut reports whether messages from `from` to `to` are dropped by a partition. */
  isCut(from: number, to: number): boolean {
    return this.cut.size > 0 && this.cut.has(linkKey(from, to));
  }

  /** cutLink drops every later message from `from` to `to`. */
  cutLink(from: number, to: number): void {
    if (from !== to) this.cut.add(linkKey(from, to));
  }

  /** partition cuts every link between side and the other nodes, both ways. */
  partition(side: ReadonlySet<number>, all: readonly number[]): void {
    for (const a of all) {
      for (const b of all) {
        if (side.has(a) !== side.has(b)) this.cutLink(a, b);
      }
    }
  }

  /** heal removes every cut. */
  heal(): void {
    this.cut.clear();
  }

  /** cutCount is the number of cut directed links. */
  cutCount(): number {
    return this.cut.size;
  }

  /**
   * plan decides what happens to one message sent now: the delays of its deliveries, or
   * an empty list if it is lost (a cut link, or bad luck). A duplicate gets its own delay,
   * and a long delay reorders the message behind later ones.
   */
  plan(from: number, to: number): number[] {
    if (this.isCut(from, to)) return [];
    const c = this.conditions;
    if (this.rng.perMille(c.dropPm)) return [];
    const out = [this.delay()];
    if (this.rng.perMille(c.dupPm)) out.push(this.delay());
    return out;
  }

  /** chance draws from the network's stream (used for transport reports). */
  chance(p: number): boolean {
    return this.rng.chance(p);
  }

  private delay(): number {
    const c = this.conditions;
    const hi = Math.max(c.minDelay, c.maxDelay);
    let d = this.rng.range(c.minDelay, hi);
    if (this.rng.perMille(c.longPm)) d += this.rng.range(hi, 10 * hi + 50);
    return d;
  }
}

function linkKey(from: number, to: number): number {
  return from * 65536 + to;
}
