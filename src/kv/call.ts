/**
 * The life of one KvService request: the signal its waits take, the request timeout and the
 * client's deadline on the service's DeadlineWheel, and the caller's way to cancel it (an
 * AbortSignal, or a Cancel for servers that track their requests themselves).
 */
import type { AbortLike } from '../node/waiter.ts';
import type { DeadlineWheel, Expiring, Slot } from './deadlines.ts';

/**
 * Cancel cancels a KvService call without an AbortSignal. A server that already tracks each
 * request (grpc_http2.ts, http.ts) passes one instead of a signal: an AbortController, its
 * EventTarget and the listener that links it to the service's own cost more than the rest of
 * a small request's bookkeeping. The service sets onCancel while the call runs.
 */
export class Cancel {
  /** cancelled turns true on the first cancel(). */
  cancelled = false;
  /** reason is what cancel() was given. */
  reason: unknown = undefined;
  /** onCancel is the running call's hook; undefined when no call runs. */
  onCancel: ((reason: unknown) => void) | undefined = undefined;

  /** cancel cancels the running call, and any started later, with reason. Idempotent. */
  cancel(reason: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.reason = reason;
    this.onCancel?.(reason);
  }
}

/** CallOptions are what every KvService call takes: how its caller may end it early. */
export interface CallOptions {
  /** Aborts when the client goes away; the request then stops waiting. */
  signal?: AbortSignal | undefined;
  /** cancel does what signal does, for servers that track requests themselves (Cancel). */
  cancel?: Cancel | undefined;
  /**
   * timeoutMs is the client's deadline, in ms from now (gRPC's grpc-timeout). When it comes
   * before the request timeout, passing it fails the call with DEADLINE_EXCEEDED.
   */
  timeoutMs?: number | undefined;
  /**
   * forwarded: another member relayed this request to this one as the leader it knew
   * (relay.ts). A member that does not lead answers such a request "not leader" instead of
   * relaying it again, so that a request makes at most one hop per attempt.
   */
  forwarded?: boolean | undefined;
}

/** Expiry says which limit ended a call. */
export const Expiry = { None: 0, Timeout: 1, Deadline: 2 } as const;
/** Expiry is one of the Expiry values. */
export type Expiry = (typeof Expiry)[keyof typeof Expiry];

/**
 * RequestCall is one running request. It aborts when the caller cancels, the request timeout
 * passes or the client's deadline does; finish() must be called when it ends. It is itself
 * the AbortLike its waits take (the Node's Waiter, Deferred), so that a put makes no
 * AbortController, EventTarget and listener map: `signal` makes a real AbortSignal only for
 * the waits that need one (a retry's backoff).
 */
export class RequestCall implements Expiring, AbortLike {
  slot: Slot | undefined = undefined;
  index = 0;
  /** expired tells which limit ended the call, if one did. */
  expired: Expiry = Expiry.None;
  /** aborted turns true when the call is cancelled, times out or passes its deadline. */
  aborted = false;
  /** reason is why the call aborted. */
  reason: unknown = undefined;
  /** listeners are the waits to tell when the call aborts. */
  private listeners: (() => void)[] | undefined = undefined;
  /** ac backs `signal`, made on its first use. */
  private ac: AbortController | undefined = undefined;
  private readonly o: CallOptions;
  private readonly wheel: DeadlineWheel;
  private readonly limit: Expiry;
  private readonly limitMs: number;
  private onAbort: (() => void) | undefined;

  constructor(o: CallOptions, wheel: DeadlineWheel, requestTimeoutMs: number) {
    this.o = o;
    this.wheel = wheel;
    const client = o.timeoutMs;
    const byClient = client !== undefined && client < requestTimeoutMs;
    this.limit = byClient ? Expiry.Deadline : Expiry.Timeout;
    this.limitMs = byClient ? client : requestTimeoutMs;
    wheel.add(this, this.limitMs);
    if (o.cancel !== undefined) {
      if (o.cancel.cancelled) this.abort(o.cancel.reason);
      else o.cancel.onCancel = (reason) => this.abort(reason);
    }
    const caller = o.signal;
    if (caller !== undefined) {
      this.onAbort = () => this.abort(caller.reason);
      if (caller.aborted) this.onAbort();
      else caller.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  /** signal is an AbortSignal that aborts with the call, for waits that need a real one. */
  get signal(): AbortSignal {
    if (this.ac === undefined) {
      this.ac = new AbortController();
      if (this.aborted) this.ac.abort(this.reason);
    }
    return this.ac.signal;
  }

  /** addEventListener is AbortLike's: listener is called once, when the call aborts. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.listeners === undefined) this.listeners = [listener];
    else if (!this.listeners.includes(listener)) this.listeners.push(listener);
  }

  /** removeEventListener is AbortLike's. */
  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners?.splice(i, 1);
  }

  /** remainingMs is the time left before the request timeout or the client deadline. */
  remainingMs(): number {
    return this.wheel.remainingMs(this);
  }

  /** callerAborted reports whether the caller cancelled (signal or Cancel). */
  get callerAborted(): boolean {
    return this.o.signal?.aborted === true || this.o.cancel?.cancelled === true;
  }

  /** callerReason is the caller's reason for cancelling. */
  get callerReason(): unknown {
    const signal = this.o.signal;
    if (signal?.aborted === true) return signal.reason as unknown;
    return this.o.cancel?.reason;
  }

  /** expire is the DeadlineWheel's call: the request timeout or the client deadline passed. */
  expire(): void {
    this.expired = this.limit;
    const what = this.limit === Expiry.Deadline ? 'client deadline' : 'request timeout';
    this.abort(new Error(`${what} of ${this.limitMs} ms passed`));
  }

  /** finish leaves the wheel and unhooks from the caller. */
  finish(): void {
    this.wheel.remove(this);
    if (this.o.cancel !== undefined) this.o.cancel.onCancel = undefined;
    if (this.onAbort !== undefined) this.o.signal?.removeEventListener('abort', this.onAbort);
  }

  /**
   * abort aborts the call once: its listeners, then `signal`'s, hear it. Like an
   * EventTarget, a listener that throws does not stop the others; its error is reported as
   * uncaught.
   */
  private abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const l of listeners ?? []) {
      try {
        l();
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
    this.ac?.abort(reason);
  }
}
