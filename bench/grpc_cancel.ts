// Benchmark: what a request's cancellation and timeout cost on their own, around an empty
// async request, in this process. "signals" is the pattern raftkv used before
// (src/kv/grpc.ts and service.ts): the server's AbortController and its cancel hook, the
// service's AbortController, a setTimeout for the request timeout and a listener linking
// the two signals. "wheel" is the current one: a Cancel from the server, one
// AbortController in RequestCall (the signal the backend's waits take) and the service's
// DeadlineWheel. Part of `npm run bench -- grpc`; alone: `--cancel-only`.
import { Cancel, RequestCall } from '../src/kv/call.ts';
import { DeadlineWheel } from '../src/kv/deadlines.ts';

const TimeoutMs = 5000;

async function work(signal: AbortSignal): Promise<number> {
  await Promise.resolve();
  if (signal.aborted) throw signal.reason;
  return 1;
}

/** signals is one request with the per-request signals and timer of before. */
async function signals(): Promise<void> {
  const server = new AbortController();
  const onCancelled = () => server.abort(new Error('client cancelled'));
  void onCancelled;
  const caller = server.signal;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('timed out')), TimeoutMs);
  const onAbort = () => ac.abort(caller.reason);
  caller.addEventListener('abort', onAbort, { once: true });
  try {
    await work(ac.signal);
  } finally {
    clearTimeout(timer);
    caller.removeEventListener('abort', onAbort);
  }
}

const wheel = new DeadlineWheel();

/** wheeled is one request as KvService runs it now. */
async function wheeled(): Promise<void> {
  const cancel = new Cancel();
  const c = new RequestCall({ cancel }, wheel, TimeoutMs);
  try {
    await work(c.signal);
  } finally {
    c.finish();
  }
}

/** CancelSample is the CPU time per request of one mechanism at one concurrency. */
export interface CancelSample {
  mechanism: string;
  concurrency: number;
  cpuUs: number;
}

async function measure(f: () => Promise<void>, n: number, conc: number): Promise<number> {
  const t0 = process.cpuUsage();
  const per = Math.ceil(n / conc);
  await Promise.all(
    Array.from({ length: conc }, async () => {
      for (let i = 0; i < per; i++) await f();
    }),
  );
  const u = process.cpuUsage(t0);
  return (u.user + u.system) / (per * conc);
}

/**
 * cancelBench measures both mechanisms, interleaved, `rounds` times at each concurrency,
 * and returns the median CPU µs per request of each.
 */
export async function cancelBench(rounds = 5, n = 200_000): Promise<CancelSample[]> {
  const out: CancelSample[] = [];
  for (const conc of [1, 128]) {
    const xs: Record<string, number[]> = { signals: [], wheel: [] };
    await measure(signals, n / 4, conc);
    await measure(wheeled, n / 4, conc);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['signals', 'wheel'] as const) : (['wheel', 'signals'] as const);
      for (const m of order) {
        xs[m]?.push(await measure(m === 'signals' ? signals : wheeled, n, conc));
      }
    }
    for (const [mechanism, v] of Object.entries(xs)) {
      const s = [...v].sort((a, b) => a - b);
      out.push({ mechanism, concurrency: conc, cpuUs: s[s.length >> 1] ?? NaN });
    }
  }
  wheel.close();
  return out;
}
