-- The transport a node last connected with (`ws` or `http`), projected from its shard's flips like `status`.
-- Only WebSocket nodes can receive assignments, so only they are rentable capacity. NULL: not connected since this
-- column exists (a WebSocket node until it shows otherwise; the shard rewrites it on the node's next flip).
ALTER TABLE nodes ADD COLUMN transport TEXT CHECK (transport IN ('ws', 'http'));
