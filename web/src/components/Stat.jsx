export function Stat({ label, value, className = '', testId }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className={`stat-value ${className}`} data-testid={testId}>
        {value}
      </div>
    </div>
  );
}
