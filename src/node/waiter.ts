/**
 * Waiter: a promise with its settle functions and an optional AbortSignal, the building
 * block of everything in the Node that waits (after denoland/std `async/deadline.ts`).
 */

/**
 * AbortLike is the part of an AbortSignal that a wait uses: an AbortSignal is one. A caller
 * that already tracks its request's life (raftkv's RequestCall) can be its own AbortLike
 * instead of making an AbortController, an EventTarget and a listener map per request.
 * Listeners are called once, when it aborts, and may be removed before.
 */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options: { once: true }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** WaitOptions is the `{ signal }` that every waiting Node method takes. */
export interface WaitOptions {
  /**
   * Aborting it rejects the wait with `signal.reason`; it never undoes a proposal. An
   * AbortSignal, or any AbortLike.
   */
  signal?: AbortLike | undefined;
}

/**
 * Waiter is a pending promise. Settling it twice is harmless (the second call is ignored);
 * it removes its abort listener as soon as it settles.
 */
export class Waiter<T> {
  /** creating is the Waiter whose promise is being created (see capture). */
  private static creating: Waiter<unknown> | undefined;

  readonly promise: Promise<T>;
  private resolveFn!: (v: T) => void;
  private rejectFn!: (err: unknown) => void;
  private done = false;
  private signal: AbortLike | undefined;
  private onAbortFn: (() => void) | undefined;

  /**
   * The waiter rejects with `signal.reason` when `signal` aborts (at once if it already
   * has), after calling onAbort (in both cases) so that the owner can forget it.
   */
  constructor(signal?: AbortLike, onAbort?: () => void) {
    Waiter.creating = this as Waiter<unknown>;
    this.promise = new Promise<T>(Waiter.capture);
    Waiter.creating = undefined;
    if (signal !== undefined) this.watch(signal, onAbort);
  }

  /** settled reports whether the waiter was resolved, rejected or aborted. */
  get settled(): boolean {
    return this.done;
  }

  /** resolve fulfils the promise with v unless it is already settled. */
  resolve(v: T): void {
    if (this.finish()) this.resolveFn(v);
  }

  /**
   * reject rejects the promise with err unless it is already settled; err is passed as it
   * is, whatever its type (a wait rejects with signal.reason, see STYLE.md).
   */
  reject(err: unknown): void {
    if (this.finish()) this.rejectFn(err);
  }

  /**
   * capture is the one executor of every Waiter's promise: it hands the settle functions to
   * the Waiter being created. One shared function, not a closure per Waiter, because a Node
   * makes a Waiter for each proposal.
   */
  private static capture(
    this: void,
    resolve: (v: never) => void,
    reject: (err: unknown) => void,
  ): void {
    const w = Waiter.creating as Waiter<unknown>;
    w.resolveFn = resolve as (v: unknown) => void;
    w.rejectFn = reject;
  }

  private watch(signal: AbortLike, onAbort: (() => void) | undefined): void {
    const abort = (): void => {
      onAbort?.();
      this.reject(signal.reason);
    };
    if (signal.aborted) {
      abort();
      return;
    }
    this.signal = signal;
    this.onAbortFn = abort;
    signal.addEventListener('abort', abort, { once: true });
  }

  /** finish marks the waiter settled and drops its abort listener; false if it was. */
  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    if (this.onAbortFn !== undefined) {
      this.signal?.removeEventListener('abort', this.onAbortFn);
    }
    return true;
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

  constructor(check: () => T | undefined, signal?: AbortLike) {
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
