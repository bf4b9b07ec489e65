// columns: [{ label, value: (row) => node, className? }]
export function Table({ columns, rows, rowKey, empty = 'Nothing yet.', testId, onRowClick, selectedKey }) {
  if (!rows || rows.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table className="table" data-testid={testId}>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.label}>{c.label}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, i) => {
          const k = rowKey(row, i);
          return (
            <tr
              key={k}
              onClick={onRowClick ? () => onRowClick(row, k) : undefined}
              tabIndex={onRowClick ? 0 : undefined}
              onKeyDown={
                onRowClick
                  ? (e) => {
                      if (e.target === e.currentTarget && (e.key === 'Enter' || e.key === ' ')) {
                        e.preventDefault();
                        onRowClick(row, k);
                      }
                    }
                  : undefined
              }
              className={`${onRowClick ? 'clickable' : ''} ${k === selectedKey ? 'selected' : ''}`}
            >
              {columns.map((c) => (
                <td key={c.label} className={c.className ? c.className(row) : ''}>
                  {c.value(row)}
                </td>
              ))}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
