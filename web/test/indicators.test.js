import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bollinger, decisionAt, sma } from '../src/indicators.js';

test('sma starts after n values and averages the last n', () => {
  assert.deepEqual(sma([1, 2, 3, 4, 5], 3), [null, null, 2, 3, 4]);
});

test('bollinger bands sit k standard deviations around the mean', () => {
  const { mid, upper, lower } = bollinger([2, 4, 4, 4, 5, 5, 7, 9], 8, 2);
  assert.equal(mid[7], 5);
  assert.equal(upper[7], 9); // population sd of this set is 2
  assert.equal(lower[7], 1);
  assert.equal(upper[6], null);
});

test('the decision in force is the latest at or before the bar', () => {
  const ds = [{ ts: '2020-01-01T02:00:00Z', id: 2 }, { ts: '2020-01-01T00:00:00Z', id: 1 }];
  assert.equal(decisionAt(ds, Date.parse('2020-01-01T01:00:00Z')).id, 1);
  assert.equal(decisionAt(ds, Date.parse('2020-01-01T02:00:00Z')).id, 2);
  assert.equal(decisionAt(ds, Date.parse('2019-12-31T00:00:00Z')), null);
});
