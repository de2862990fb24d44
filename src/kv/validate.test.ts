import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KvError, GrpcCode } from './errors.ts';
import { b, cmp, delReq, op, putReq, rangeReq } from './testing.ts';
import { CompareResult } from './types.ts';
import type { RequestOp, TxnRequest } from './types.ts';
import { checkPut, checkRange, checkTxn, DefaultLimits } from './validate.ts';

const lim = DefaultLimits;
const txn = (success: RequestOp[], failure: RequestOp[] = []): TxnRequest => ({
  compare: [],
  success,
  failure,
});

function refused(f: () => void, message: RegExp): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof KvError);
    assert.equal(err.code, GrpcCode.INVALID_ARGUMENT);
    assert.match(err.message, message);
    return true;
  });
}

describe('validate', () => {
  test('empty keys are refused with etcd text', () => {
    refused(() => checkPut(lim, putReq('', 'v')), /^etcdserver: key is not provided$/);
    refused(() => checkRange(lim, rangeReq('')), /key is not provided/);
  });

  test('keys and values above the limits are refused, naming the sizes', () => {
    const small = { ...lim, maxKeyBytes: 4, maxValueBytes: 8 };
    refused(
      () => checkPut(small, putReq('12345', 'v')),
      /request is too large: key of 5 bytes exceeds the limit of 4/,
    );
    refused(
      () => checkPut(small, putReq('k', '123456789')),
      /value of 9 bytes exceeds the limit of 8/,
    );
    refused(
      () => checkRange(small, rangeReq('k', { rangeEnd: b('12345') })),
      /range_end of 5 bytes/,
    );
    checkPut(small, putReq('1234', '12345678'));
  });

  test('ints must be safe; sort options must be known', () => {
    refused(
      () => checkRange(lim, rangeReq('k', { limit: 2 ** 60 })),
      /limit .* is not a safe integer/,
    );
    refused(() => checkRange(lim, rangeReq('k', { sortOrder: 7 })), /invalid sort option/);
    refused(() => checkPut(lim, putReq('k', 'v', { ignoreValue: true })), /value is provided/);
    refused(
      () => checkPut(lim, putReq('k', '', { ignoreLease: true, lease: 3 })),
      /lease is provided/,
    );
  });

  test('txn: too many ops, empty ops, deep nesting', () => {
    const many = Array.from({ length: 129 }, (_, i) => op({ put: putReq(`k${i}`, 'v') }));
    refused(() => checkTxn(lim, txn(many)), /too many operations in txn request/);
    checkTxn(lim, txn(many.slice(0, 128)));
    refused(() => checkTxn(lim, txn([{}])), /has no request/);
    let t = txn([]);
    for (let i = 0; i < 20; i++) t = txn([op({ txn: t })]);
    refused(() => checkTxn(lim, t), /nested deeper than 16/);
    refused(
      () =>
        checkTxn(lim, {
          compare: [{ ...cmp('k', 'version', CompareResult.EQUAL, 1), target: 9 }],
          success: [],
          failure: [],
        }),
      /invalid compare/,
    );
  });

  test('txn: a key written twice in one branch is refused (checkIntervals)', () => {
    const dup = /^etcdserver: duplicate key given in txn request$/;
    refused(
      () => checkTxn(lim, txn([op({ put: putReq('a', '1') }), op({ put: putReq('a', '2') })])),
      dup,
    );
    refused(
      () =>
        checkTxn(
          lim,
          txn([op({ del: delReq('a', { rangeEnd: b('c') }) }), op({ put: putReq('b', '1') })]),
        ),
      dup,
    );
    const nested = (success: RequestOp[], failure: RequestOp[]) =>
      op({ txn: txn(success, failure) });
    refused(
      () =>
        checkTxn(
          lim,
          txn([op({ put: putReq('a', '1') }), nested([op({ put: putReq('a', '2') })], [])]),
        ),
      dup,
    );
    refused(
      () =>
        checkTxn(lim, txn([op({ del: delReq('a') }), nested([], [op({ put: putReq('a', '2') })])])),
      dup,
    );
  });

  test('txn: the same key on two branches, or on both branches of a nested txn, is fine', () => {
    checkTxn(lim, txn([op({ put: putReq('a', '1') })], [op({ put: putReq('a', '2') })]));
    const nested = op({
      txn: txn([op({ put: putReq('a', '1') })], [op({ put: putReq('a', '2') })]),
    });
    checkTxn(lim, txn([nested, op({ put: putReq('b', '1') })]));
    checkTxn(lim, txn([op({ del: delReq('a') }), op({ del: delReq('a', { rangeEnd: b('z') }) })]));
  });
});
