/**
 * Keeping a member's heap near its live data: capping V8's old-generation growth once the
 * heap is large (capHeapGrowth), and having V8 compact it once the member goes quiet
 * (reduceWhenIdle).
 *
 * Under a high allocation rate V8 lets the old generation grow to up to about 4x the live
 * heap before its next full GC. While the heap is small that is cheap and fast; once the
 * store holds hundreds of MB, it keeps RSS at 3x the live data (bench/memory.sh). Capping the
 * growth from the start costs throughput instead: with a small heap a 30 % cap means a full
 * GC every few MB of promoted garbage (puts at 128 clients ran about 15 % slower). So the
 * member sets V8's --heap-growing-percent only once the heap in use passes a threshold.
 */
import { performance } from 'node:perf_hooks';
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

/** HeapSize is V8's heap: the bytes in use and the bytes it holds (committed). */
export interface HeapSize {
  used: number;
  total: number;
}

/** IdleReduction says what one reduction by reduceWhenIdle achieved. */
export interface IdleReduction {
  /** ms from asking V8 to reduce to the smallest heap seen. */
  ms: number;
  /** before is the heap when asked; after the smallest heap (held) seen until the end. */
  before: HeapSize;
  after: HeapSize;
}

/** IdleReduceOptions configure reduceWhenIdle. */
export interface IdleReduceOptions {
  /** quietMs: how long the member must be quiet before a reduction; 0 never reduces. */
  quietMs: number;
  /**
   * progress returns a number that changes while the member works (its applied index): a
   * change ends the quiet period.
   */
  progress: () => number;
  /** intervalMs between checks (default 1000, or quietMs if less). */
  intervalMs?: number;
  /**
   * maxUtilization: before a reduction, a check interval whose event-loop utilization (0..1)
   * is above this is busy (default 0.1), which catches work that applies nothing: reads, a
   * snapshot in flight.
   */
  maxUtilization?: number;
  /**
   * minGrowthBytes: reduce only once the heap in use or the heap held has grown by at least
   * this much since the last reduction left it (default 32 MiB)...
   */
  minGrowthBytes?: number;
  /** growthPercent: ...and by this percentage of what it left (default 10). */
  growthPercent?: number;
  /** windowMs: how long a reduction may take before reduceWhenIdle resumes (default 20 s). */
  windowMs?: number;
  /** utilization returns the event-loop utilization since its previous call; for tests. */
  utilization?: () => number;
  /** heap returns V8's heap size (default getHeapStatistics); for tests. */
  heap?: () => HeapSize;
  /** reduce asks V8 to shrink its heap (default optimizeForSize(true)); for tests. */
  reduce?: () => void;
  /** resume ends what reduce started (default optimizeForSize(false)); for tests. */
  resume?: () => void;
  /** now is a monotonic clock in ms (default performance.now); for tests. */
  now?: () => number;
  /** onReduced is told what each reduction achieved, when it ends. */
  onReduced?: (r: IdleReduction) => void;
}

/**
 * reduceWhenIdle asks V8 to shrink its heap once the member has been quiet for quietMs
 * (progress() unchanged and the event loop idle at every check) and the heap has grown well
 * past what the previous reduction left: at most once per quiet period, never while busy.
 * The reduction ends when the member applies something again or after windowMs; onReduced
 * is then told the smallest heap seen. Checks run every intervalMs on an unref'd timer;
 * returns a function that stops them (ending a reduction under way). The first reduction
 * counts growth from nothing, as a member's heap after replaying its WAL holds garbage too.
 *
 * Why: under load V8 collects the old generation only when it reaches its limit (1.3x the
 * live heap with capHeapGrowth), and a member that goes quiet allocates too little to reach
 * it again. V8's memory reducer then compacts the heap with incremental GCs, but only once
 * it measures a low allocation rate: 30 to 50 s after a burst of puts, for a member
 * (bench/memory.sh), during which the garbage and free pages of the burst stay resident.
 * A forced gc() would free the garbage at once, but in one atomic pause that grows with the
 * live heap (0.45 s for 1M keys) and compacts little; a leader paused longer than the
 * election timeout loses its followers.
 */
export function reduceWhenIdle(o: IdleReduceOptions): () => void {
  if (o.quietMs <= 0) return () => undefined;
  const heap = o.heap ?? heapSize;
  const now = o.now ?? (() => performance.now());
  const utilization = o.utilization ?? loopUtilization();
  const grown = growthCheck(o.minGrowthBytes ?? 32 * 2 ** 20, o.growthPercent ?? 10);
  const windowMs = o.windowMs ?? 20_000;
  let left: HeapSize = { used: 0, total: 0 };
  let progress = o.progress();
  let quietSince = now();
  let tried = false; // in this quiet period
  let r: { at: number; before: HeapSize; least: HeapSize; leastAt: number } | undefined;
  const end = (): void => {
    if (r === undefined) return;
    (o.resume ?? (() => optimizeForSize(false)))();
    left = r.least;
    o.onReduced?.({ ms: r.leastAt - r.at, before: r.before, after: r.least });
    r = undefined;
  };
  const check = (): void => {
    const p = o.progress();
    const u = utilization();
    // V8's incremental GCs keep the loop busy during a reduction: only work ends it.
    if (p !== progress || (r === undefined && u > (o.maxUtilization ?? 0.1))) {
      progress = p;
      quietSince = now();
      tried = false;
      end();
      return;
    }
    const h = heap();
    if (r !== undefined) {
      if (h.total < r.least.total) [r.least, r.leastAt] = [h, now()];
      if (now() - r.at >= windowMs) end();
      return;
    }
    if (tried || now() - quietSince < o.quietMs || !grown(left, h)) return;
    tried = true;
    (o.reduce ?? (() => optimizeForSize(true)))();
    r = { at: now(), before: h, least: h, leastAt: now() };
  };
  const timer = setInterval(check, o.intervalMs ?? Math.min(1000, o.quietMs));
  timer.unref();
  return () => {
    clearInterval(timer);
    end();
  };
}

/** growthCheck returns whether `now` has grown past `left` by max(minBytes, percent %). */
function growthCheck(
  minBytes: number,
  percent: number,
): (left: HeapSize, now: HeapSize) => boolean {
  const past = (was: number, is: number): boolean =>
    is - was >= Math.max(minBytes, (was * percent) / 100);
  return (left, now) => past(left.used, now.used) || past(left.total, now.total);
}

/** heapSize reads V8's heap size. */
function heapSize(): HeapSize {
  const h = getHeapStatistics();
  return { used: h.used_heap_size, total: h.total_heap_size };
}

/** loopUtilization returns a function giving the event-loop utilization since its last call. */
function loopUtilization(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const cur = performance.eventLoopUtilization();
    const u = performance.eventLoopUtilization(cur, last).utilization;
    last = cur;
    return u;
  };
}

/**
 * optimizeForSize sets or clears V8's --optimize-for-size, unless the process was started
 * with it. While it is set V8 treats the isolate as it treats a background tab: its memory
 * reducer, which checks every 8 s, starts at its next check instead of waiting for a low
 * allocation rate (1 to 11 s after asking in bench/memory.sh, against 30 to 50 s), and runs
 * up to three incremental, compacting GCs, each pausing tens of ms, that return the free
 * pages to the OS. Its compilers and heap sizing favour memory over speed meanwhile, hence
 * reduceWhenIdle clears it again as soon as the member works or the reduction is over.
 */
export function optimizeForSize(on: boolean): void {
  if (process.execArgv.includes('--optimize-for-size')) return;
  setFlagsFromString(on ? '--optimize-for-size' : '--no-optimize-for-size');
}
