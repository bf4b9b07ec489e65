import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layoutColumns, parseQasm } from '../src/qasm.js';

const QAOA = `OPENQASM 3.0;
include "stdgates.inc";
gate rzz(p0) _gate_q_0, _gate_q_1 {
  cx _gate_q_0, _gate_q_1;
  rz(p0) _gate_q_1;
  cx _gate_q_0, _gate_q_1;
}
bit[3] meas;
qubit[3] q;
ry(2*pi/3) q[0];
rz(-0.17) q[1];
rzz(0.42) q[0], q[2];
h q[1];
barrier q[0], q[1], q[2];
meas[0] = measure q[0];
meas[2] = measure q[2];
`;

test('reads qubits and operations, skipping gate definitions and declarations', () => {
  const { qubits, ops } = parseQasm(QAOA);
  assert.equal(qubits, 3);
  assert.deepEqual(
    ops.map((o) => [o.name, o.params, o.qubits]),
    [
      ['ry', '2*pi/3', [0]],
      ['rz', '-0.17', [1]],
      ['rzz', '0.42', [0, 2]],
      ['h', '', [1]],
      ['barrier', '', [0, 1, 2]],
      ['measure', '', [0]],
      ['measure', '', [2]],
    ],
  );
});

test('a gate on the whole register touches every qubit', () => {
  const { ops } = parseQasm('qubit[2] q;\nh q;\n');
  assert.deepEqual(ops[0].qubits, [0, 1]);
});

test('an unknown qubit argument is an error naming it', () => {
  assert.throws(() => parseQasm('qubit[2] q;\nh r[0];\n'), /unknown qubit argument r\[0\]/);
});

test('columns: a two-qubit gate waits for every wire it spans', () => {
  const placed = layoutColumns(parseQasm(QAOA).ops);
  assert.deepEqual(
    placed.map((o) => o.column),
    [0, 0, 1, 2, 3, 4, 4],
  );
});
