import { layoutColumns, parseQasm } from '../qasm.js';

// The optimiser's circuit as SVG: one wire per qubit, gates in columns.
const COL = 54;
const ROW = 44;
const LEFT = 44;
const BOX = 34;

function shortParam(params) {
  if (!params) return '';
  const n = Number(params);
  return Number.isFinite(n) ? n.toFixed(2) : params.replace(/\s/g, '');
}

function Gate({ op, x, y }) {
  if (op.name === 'barrier') {
    return <line x1={x} x2={x} y1={y(op.lo) - ROW / 2} y2={y(op.hi) + ROW / 2} className="barrier" />;
  }
  const label = op.name === 'measure' ? 'M' : op.name.toUpperCase();
  const boxes = op.qubits.length > 1 ? op.qubits : [op.qubits[0]];
  return (
    <g className={`gate gate-${op.name}`}>
      <title>{`${op.name}(${op.params}) on q${op.qubits.join(', q')}`}</title>
      {op.qubits.length > 1 && <line x1={x} x2={x} y1={y(op.lo)} y2={y(op.hi)} className="link" />}
      {boxes.map((q) => (
        <g key={q}>
          <rect x={x - BOX / 2} y={y(q) - BOX / 2} width={BOX} height={BOX} rx="4" />
          <text x={x} y={y(q) - (op.params ? 2 : -4)} textAnchor="middle" className="gate-name">
            {label}
          </text>
          {op.params && (
            <text x={x} y={y(q) + 11} textAnchor="middle" className="gate-param">
              {shortParam(op.params)}
            </text>
          )}
        </g>
      ))}
    </g>
  );
}

export function Circuit({ qasm }) {
  let parsed;
  try {
    parsed = parseQasm(qasm);
  } catch (err) {
    return <p className="notice error">Cannot draw the circuit: {err.message}</p>;
  }
  const placed = layoutColumns(parsed.ops);
  const columns = Math.max(1, ...placed.map((o) => o.column + 1));
  const width = LEFT + columns * COL + 20;
  const height = parsed.qubits * ROW + 10;
  const y = (q) => 25 + q * ROW;
  const x = (c) => LEFT + c * COL + COL / 2;
  return (
    <div className="circuit-scroll">
      <svg className="circuit" width={width} height={height} data-testid="circuit">
        {Array.from({ length: parsed.qubits }, (_, q) => (
          <g key={q}>
            <text x="4" y={y(q) + 4} className="wire-label">
              q{q}
            </text>
            <line x1={LEFT - 10} x2={width - 10} y1={y(q)} y2={y(q)} className="wire" />
          </g>
        ))}
        {placed.map((op, i) => (
          // eslint-disable-next-line react/no-array-index-key
          <Gate key={i} op={op} x={x(op.column)} y={y} />
        ))}
      </svg>
    </div>
  );
}
