import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EnvelopeHeaderSize,
  decodeAddressContext,
  decodeEnvelope,
  encodeAddressContext,
  encodeEnvelope,
  encodeEnvelopes,
  envelopePayload,
  envelopeSeq,
  unwrapSnapshot,
  wrapSnapshot,
} from './envelope.ts';

void describe('proposal envelope', () => {
  void it('round-trips ids up to 2^53-1 and keeps the payload', () => {
    const id = { origin: Number.MAX_SAFE_INTEGER, session: 0xffff_ffff, seq: 7, term: 2 ** 40 + 3 };
    const data = encodeEnvelope(id, new Uint8Array([9, 8, 7]));
    assert.equal(data.length, EnvelopeHeaderSize + 3);
    assert.deepEqual(decodeEnvelope(data), id);
    assert.deepEqual(envelopePayload(data), new Uint8Array([9, 8, 7]));
  });

  void it('writes the documented layout (big-endian)', () => {
    const data = encodeEnvelope({ origin: 1, session: 2, seq: 3, term: 4 }, new Uint8Array([0xaa]));
    assert.deepEqual(
      [...data],
      [1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0xaa],
    );
  });

  void it('reads a view at an offset', () => {
    const inner = encodeEnvelope({ origin: 5, session: 6, seq: 7, term: 8 }, new Uint8Array([1]));
    const outer = new Uint8Array(inner.length + 3);
    outer.set(inner, 3);
    assert.deepEqual(decodeEnvelope(outer.subarray(3)), { origin: 5, session: 6, seq: 7, term: 8 });
  });

  void it('encodes a batch as views of one buffer, each as encodeEnvelope would', () => {
    const id = { origin: 3, session: 0xdead_beef, seq: 0, term: 9 };
    const batch = [
      { seq: 1, data: new Uint8Array([1, 2, 3]) },
      { seq: 2, data: new Uint8Array(0) },
      { seq: 0xffff_ffff, data: new Uint8Array([7]) },
    ];
    const out = encodeEnvelopes(id, batch);
    assert.equal(out.length, 3);
    for (const [i, p] of batch.entries()) {
      assert.deepEqual([...(out[i] ?? [])], [...encodeEnvelope({ ...id, seq: p.seq }, p.data)]);
      assert.equal(out[i]?.buffer, out[0]?.buffer);
    }
  });

  void it('reads the seq of this node and session only', () => {
    const data = encodeEnvelope({ origin: 4, session: 5, seq: 6, term: 7 }, new Uint8Array([1]));
    assert.equal(envelopeSeq(data, 4, 5), 6);
    assert.equal(envelopeSeq(data, 4, 6), undefined);
    assert.equal(envelopeSeq(data, 2 ** 40 + 4, 5), undefined);
    assert.equal(envelopeSeq(new Uint8Array(24).fill(1), 4, 5), undefined);
    assert.equal(envelopeSeq(undefined, 4, 5), undefined);
  });

  void it('treats short or other-version data as a bare payload', () => {
    assert.equal(decodeEnvelope(undefined), undefined);
    assert.equal(decodeEnvelope(new Uint8Array(24).fill(1)), undefined);
    const v2 = new Uint8Array(30).fill(2);
    assert.equal(decodeEnvelope(v2), undefined);
    assert.equal(envelopePayload(v2), v2);
  });
});

void describe('address context', () => {
  void it('round-trips and matches the documented JSON', () => {
    const ctx = encodeAddressContext(new Map([[4, '10.0.0.4:7000']]));
    assert.equal(new TextDecoder().decode(ctx), '{"addresses":{"4":"10.0.0.4:7000"}}');
    assert.deepEqual(decodeAddressContext(ctx), new Map([[4, '10.0.0.4:7000']]));
  });

  void it('ignores contexts in other formats and bad entries', () => {
    assert.equal(decodeAddressContext(undefined).size, 0);
    assert.equal(decodeAddressContext(new Uint8Array([0xff, 0xfe])).size, 0);
    const bad = new TextEncoder().encode('{"addresses":{"x":"a","0":"b","3":7,"5":"ok"}}');
    assert.deepEqual(decodeAddressContext(bad), new Map([[5, 'ok']]));
  });
});

void describe('snapshot wrapper', () => {
  void it('round-trips addresses and application bytes', () => {
    const data = wrapSnapshot(new Map([[1, 'mem://1']]), new Uint8Array([1, 2, 3]));
    const got = unwrapSnapshot(data);
    assert.deepEqual(got.addresses, new Map([[1, 'mem://1']]));
    assert.deepEqual(got.app, new Uint8Array([1, 2, 3]));
  });

  void it('reads absent data as empty and refuses foreign data', () => {
    assert.equal(unwrapSnapshot(undefined).app.length, 0);
    assert.throws(() => unwrapSnapshot(new Uint8Array([1, 2])), /shorter than its header/);
    assert.throws(() => unwrapSnapshot(new Uint8Array([0, 0, 0, 9, 1])), /meta length 9 exceeds 1/);
    const notJson = new Uint8Array([0, 0, 0, 1, 0x41]);
    assert.throws(() => unwrapSnapshot(notJson), /not version 1 JSON/);
  });
});
