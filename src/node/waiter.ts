/**
 * Waiter: a promise with its settle functions and an optional AbortSignal, the building
 * block of everything in the Node that waits (after denoland/std `async/deadline.ts`).
 */

/** WaitOptions is the `{ signal }` that every waiting Node method takes. */
export interface WaitOptions {
  /** Aborting it rejects the wait with `signal.reason`; it never undoes a proposal. */
  signal?: AbortSignal | undefined;
}

/**
 * Waiter is a pending promise. Settling it twice is harmless (the second call is ignored);
 * it removes its abort listener as soon as it settles.
 */
export class Waiter<T> {
  readonly promise: Promise<T>;
  private settle!: (ok: boolean, v: unknown) => void;
  private done = false;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbortFn: (() => void) | undefined;

  /**
   * The waiter rejects with `signal.reason` when `signal` aborts (at once if it already
   * has), after calling onAbort (in both cases) so that the owner can forget it.
   */
  constructor(signal?: AbortSignal, onAbort?: () => void) {
    this.promise = new Promise<T>((resolve, reject) => {
      // A wait rejects with signal.reason as it is, whatever its type (see STYLE.md).
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      this.settle = (ok, v) => (ok ? resolve(v as T) : reject(v));
    });
    this.signal = signal;
    if (signal === undefined) return;
    const abort = (): void => {
      onAbort?.();
      this.reject(signal.reason);
    };
    if (signal.aborted) {
      abort();
      return;
    }
    this.onAbortFn = abort;
    signal.addEventListener('abort', abort, { once: true });
  }

  /** settled reports whether the waiter was resolved, rejected or aborted. */
  get settled(): boolean {
    return this.done;
  }

  /** resolve fulfils the promise with v unless it is already settled. */
  resolve(v: T): void {
    this.finish(true, v);
  }

  /** reject rejects the promise with err unless it is already settled. */
  reject(err: unknown): void {
    this.finish(false, err);
  }

  private finish(ok: boolean, v: unknown): void {
    if (this.done) return;
    this.done = true;
    if (this.onAbortFn !== undefined) {
      this.signal?.removeEventListener('abort', this.onAbortFn);
    }
    this.settle(ok, v);
  }
}

/**
 * Condition is a waiter that resolves once check() returns a value other than undefined
 * (and rejects with what check() throws); the owner calls poll() whenever the state it
 * depends on may have changed.
 */
export class Condition<T> {
  readonly waiter: Waiter<T>;
  private readonly check: () => T | undefined;

  constructor(check: () => T | undefined, signal?: AbortSignal) {
    this.check = check;
    this.waiter = new Waiter<T>(signal);
  }

  /**
   * poll resolves the waiter if the condition holds, or rejects it if check() throws; it
   * returns true once the waiter is settled.
   */
  poll(): boolean {
    if (this.waiter.settled) return true;
    let v: T | undefined;
    try {
      v = this.check();
    } catch (err) {
      this.waiter.reject(err);
      return true;
    }
    if (v === undefined) return false;
    this.waiter.resolve(v);
    return true;
  }
}
