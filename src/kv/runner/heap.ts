/**
 * Capping V8's old-generation growth once a member's heap is large.
 *
 * Under a high allocation rate V8 lets the old generation grow to up to about 4x the live
 * heap before its next full GC. While the heap is small that is cheap and fast; once the
 * store holds hundreds of MB, it keeps RSS at 3x the live data (bench/memory.sh). Capping the
 * growth from the start costs throughput instead: with a small heap a 30 % cap means a full
 * GC every few MB of promoted garbage (puts at 128 clients ran about 15 % slower). So the
 * member sets V8's --heap-growing-percent only once the heap in use passes a threshold.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

/** HeapCapOptions configure capHeapGrowth. */
export interface HeapCapOptions {
  /** percent is V8's --heap-growing-percent once capped; 0 never caps. */
  percent: number;
  /** fromBytes: cap once the heap in use reaches this many bytes (0: at once). */
  fromBytes: number;
  /** intervalMs between checks of the heap (default 1000). */
  intervalMs?: number;
  /** heapUsed returns the heap in use (default V8's used_heap_size); for tests. */
  heapUsed?: () => number;
  /** setFlags sets a V8 flag (default v8.setFlagsFromString); for tests. */
  setFlags?: (flag: string) => void;
  /** onCapped is told when the cap was set, with the heap in use then. */
  onCapped?: (heapUsed: number) => void;
}

/**
 * capHeapGrowth sets --heap-growing-percent=<percent> once the heap in use reaches
 * fromBytes (checked every intervalMs on an unref'd timer; V8 flags are process-wide and the
 * cap is never lifted). Returns a function that stops the checks.
 */
export function capHeapGrowth(o: HeapCapOptions): () => void {
  if (o.percent <= 0) return () => undefined;
  const used = o.heapUsed ?? (() => getHeapStatistics().used_heap_size);
  const set = o.setFlags ?? setFlagsFromString;
  const check = (): boolean => {
    const u = used();
    if (u < o.fromBytes) return false;
    set(`--heap-growing-percent=${o.percent}`);
    o.onCapped?.(u);
    return true;
  };
  if (check()) return () => undefined;
  let done = false;
  const stop = (): void => {
    done = true;
    clearInterval(timer);
  };
  const timer = setInterval(() => {
    if (!done && check()) stop();
  }, o.intervalMs ?? 1000);
  timer.unref();
  return stop;
}
