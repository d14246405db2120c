import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scratchLender } from './scratch.js';

test('scratchLender: reused while it fits, grown at least twofold, fresh for a nested call, lent again after a throw', () => {
  const created: number[] = [];
  const borrow = scratchLender((capacity) => {
    created.push(capacity);
    return new Float64Array(capacity);
  }, (a) => a.length);
  const first = borrow(10, (a) => a);
  assert.equal(first.length, 10);
  assert.equal(borrow(4, (a) => a), first, 'reused while it holds enough');
  const grown = borrow(12, (a) => a);
  assert.equal(grown.length, 20, 'twice the old capacity when that is more than asked');
  assert.equal(borrow(50, (a) => a).length, 50, 'what is asked when that is more than twice');
  const kept = borrow(1, (a) => a);
  borrow(1, (outer) => {
    const inner = borrow(3, (a) => a);
    assert.notEqual(inner, outer, 'a nested call gets its own');
    assert.equal(inner.length, 3, 'of exactly the size asked');
    assert.equal(outer, kept);
    assert.notEqual(borrow(1, (a) => a), outer, 'still lent once a nested call has returned');
  });
  assert.throws(() => borrow(1, () => {
    throw new Error('boom');
  }));
  assert.equal(borrow(1, (a) => a), kept, 'released after a throw');
  assert.deepEqual(created, [0, 10, 20, 50, 3, 1]);
});
