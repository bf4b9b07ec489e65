// Reads the OpenQASM 3 text of /api/v1/quantum/last into qubits and operations
// (gate definitions and declarations skipped), and lays the operations out in columns.

const QUBITS = /^qubit\[(\d+)\]\s+(\w+);$/;
const MEASURE = /^\w+\[\d+\]\s*=\s*measure\s+(.+);$/;
const GATE = /^([A-Za-z_]\w*)\s*(?:\(([^)]*)\))?\s+(.+);$/;
const SKIP = /^(OPENQASM|include|bit|input|output|reset)\b/;

function qubitIndexes(args, register, size) {
  return args.split(',').flatMap((arg) => {
    const a = arg.trim();
    const m = a.match(/^(\w+)\[(\d+)\]$/);
    if (m && m[1] === register) return [Number(m[2])];
    if (a === register) return Array.from({ length: size }, (_, i) => i);
    throw new Error(`unknown qubit argument ${a}`);
  });
}

export function parseQasm(text) {
  let qubits = 0;
  let register = 'q';
  let depth = 0; // inside a gate definition body
  const ops = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (!line) continue;
    if (depth > 0 || line.startsWith('gate ')) {
      depth += (line.match(/{/g) || []).length - (line.match(/}/g) || []).length;
      continue;
    }
    if (SKIP.test(line)) continue;
    const decl = line.match(QUBITS);
    if (decl) {
      qubits = Number(decl[1]);
      register = decl[2];
      continue;
    }
    const measure = line.match(MEASURE);
    if (measure) {
      ops.push({ name: 'measure', params: '', qubits: qubitIndexes(measure[1], register, qubits) });
      continue;
    }
    const gate = line.match(GATE);
    if (gate) ops.push({ name: gate[1], params: gate[2] || '', qubits: qubitIndexes(gate[3], register, qubits) });
  }
  return { qubits, ops };
}

// Each op gets the first column where every wire it spans is free.
export function layoutColumns(ops) {
  const free = [];
  return ops.map((op) => {
    const lo = Math.min(...op.qubits);
    const hi = Math.max(...op.qubits);
    let column = 0;
    for (let q = lo; q <= hi; q += 1) column = Math.max(column, free[q] || 0);
    for (let q = lo; q <= hi; q += 1) free[q] = column + 1;
    return { ...op, column, lo, hi };
  });
}
