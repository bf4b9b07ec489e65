import { api } from '../api.js';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { money, num, time } from '../format.js';
import { usePoll } from '../usePoll.js';
import { useThrottledRefresh } from '../useThrottledRefresh.js';

const side = { label: 'Side', value: (r) => r.side, className: (r) => (r.side === 'buy' ? 'up' : 'down') };

export function Orders({ live }) {
  const orders = usePoll(() => api('/orders?limit=50'), 15000);
  const fills = usePoll(() => api('/fills?limit=50'), 15000);
  useThrottledRefresh((live.events.orders || []).length, orders.refresh, 3000);
  useThrottledRefresh((live.events.fills || []).length, fills.refresh, 3000);
  return (
    <section>
      <header className="screen-head">
        <h2>Orders and fills</h2>
        <span className="muted">newest first; refreshed as live orders and fills arrive</span>
      </header>
      <Notice error={orders.error || fills.error} />
      <div className="card">
        <h3>Orders</h3>
        <Table
          testId="orders"
          rows={[...(orders.data || [])].reverse()}
          rowKey={(o) => o.client_order_id}
          columns={[
            { label: 'Created', value: (o) => time(o.created_ts) },
            { label: 'Order', value: (o) => o.client_order_id },
            side,
            { label: 'Type', value: (o) => o.type },
            { label: 'Qty', value: (o) => num(o.qty, 6) },
            { label: 'Filled', value: (o) => num(o.filled_qty, 6) },
            { label: 'Status', value: (o) => o.status },
          ]}
        />
      </div>
      <div className="card">
        <h3>Fills</h3>
        <Table
          testId="fills"
          rows={[...(fills.data || [])].reverse()}
          rowKey={(f) => f.fill_id}
          columns={[
            { label: 'Time', value: (f) => time(f.ts) },
            { label: 'Order', value: (f) => f.client_order_id },
            side,
            { label: 'Qty', value: (f) => num(f.qty, 6) },
            { label: 'Price', value: (f) => money(f.price) },
            { label: 'Fee', value: (f) => money(f.fee, 4) },
            { label: 'Liquidity', value: (f) => f.liquidity },
          ]}
        />
      </div>
    </section>
  );
}
