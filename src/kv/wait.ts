/**
 * Small waiting helpers of raftkv, after denoland/std `async/deadline.ts`: every wait takes
 * an AbortSignal (or an AbortLike), rejects with `signal.reason` and removes its listener
 * once settled.
 */
import type { AbortLike } from '../node/waiter.ts';

/**
 * Deferred is a promise with its settle functions. With a signal it rejects with
 * `signal.reason` when the signal aborts (at once if it already has), after calling
 * onAbort so that its owner can forget it. Settling twice is harmless.
 */
export class Deferred<T> {
  readonly promise: Promise<T>;
  private settleFn!: (ok: boolean, v: unknown) => void;
  private done = false;
  private readonly signal: AbortLike | undefined;
  private readonly onAbortFn: (() => void) | undefined;

  constructor(signal?: AbortLike, onAbort?: () => void) {
    this.promise = new Promise<T>((resolve, reject) => {
      // A wait rejects with signal.reason as it is, whatever its type (see STYLE.md).
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      this.settleFn = (ok, v) => (ok ? resolve(v as T) : reject(v));
    });
    this.signal = signal;
    if (signal === undefined) return;
    if (signal.aborted) {
      onAbort?.();
      this.reject(signal.reason);
      return;
    }
    this.onAbortFn = () => {
      onAbort?.();
      this.reject(signal.reason);
    };
    signal.addEventListener('abort', this.onAbortFn, { once: true });
  }

  /** settled reports whether the promise was resolved or rejected. */
  get settled(): boolean {
    return this.done;
  }

  /** resolve fulfils the promise unless it is settled. */
  resolve(v: T): void {
    this.finish(true, v);
  }

  /** reject rejects the promise unless it is settled. */
  reject(err: unknown): void {
    this.finish(false, err);
  }

  private finish(ok: boolean, v: unknown): void {
    if (this.done) return;
    this.done = true;
    if (this.onAbortFn !== undefined) this.signal?.removeEventListener('abort', this.onAbortFn);
    this.settleFn(ok, v);
  }
}

/**
 * waitFor resolves with check()'s first value other than undefined, calling it now and
 * each time `subscribe`'s listener fires; it rejects with `signal.reason` on abort.
 */
export function waitFor<T>(
  subscribe: (listener: () => void) => () => void,
  check: () => T | undefined,
  signal?: AbortLike,
): Promise<T> {
  const first = check();
  if (first !== undefined) return Promise.resolve(first);
  let unsubscribe = (): void => {};
  const d = new Deferred<T>(signal, () => unsubscribe());
  if (d.settled) return d.promise;
  unsubscribe = subscribe(() => {
    const v = check();
    if (v === undefined) return;
    unsubscribe();
    d.resolve(v);
  });
  return d.promise;
}
