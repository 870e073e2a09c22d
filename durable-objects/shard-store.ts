// A LivenessShard's own SQLite: node rows, the D1 outbox, used token ids, checkpoints and counters.
import type { ChallengeCounts, OutboxOp, Transport } from "../workers/contracts.ts";
import type { NodeStatus } from "../workers/domain/status.ts";

export interface ShardNode {
	node_id: string;
	status: NodeStatus;
	/** When the current status began (ms). */
	since: number;
	last_seen_at: number | null;
	maintenance: number;
	ever_online: number;
	transport: Transport | null;
	/** Flip sequence number of this node; flip ids are `${node_id}:${seq}`. */
	seq: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS node (
  node_id TEXT PRIMARY KEY, status TEXT NOT NULL, since INTEGER NOT NULL, last_seen_at INTEGER,
  maintenance INTEGER NOT NULL DEFAULT 0, ever_online INTEGER NOT NULL DEFAULT 0, transport TEXT,
  seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS node_by_status ON node (status);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS used_jti (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS challenge_counts (epoch INTEGER PRIMARY KEY, counts TEXT NOT NULL);
`;

/** Typed access to the shard's tables; every write counts its rows for the cost benchmark. */
export class ShardStore {
	rowsWritten = 0;
	rowsRead = 0;

	constructor(private readonly sql: SqlStorage) {
		sql.exec(SCHEMA);
	}

	private run(query: string, ...params: SqlStorageValue[]): SqlStorageCursor<Record<string, SqlStorageValue>> {
		const cursor = this.sql.exec(query, ...params);
		cursor.toArray();
		this.rowsWritten += cursor.rowsWritten;
		this.rowsRead += cursor.rowsRead;
		return cursor;
	}

	/** A query's rows; every read is counted too (rows read are billed). */
	private read(query: string, ...params: SqlStorageValue[]): Record<string, SqlStorageValue>[] {
		const cursor = this.sql.exec(query, ...params);
		const rows = cursor.toArray();
		this.rowsRead += cursor.rowsRead;
		return rows;
	}

	node(nodeId: string): ShardNode | null {
		return (this.read("SELECT * FROM node WHERE node_id = ?", nodeId)[0] as ShardNode | undefined) ?? null;
	}

	nodeOrNew(nodeId: string, now: number): ShardNode {
		return this.node(nodeId) ?? {
			node_id: nodeId, status: "new", since: now, last_seen_at: null, maintenance: 0, ever_online: 0, transport: null, seq: 0,
		};
	}

	saveNode(n: ShardNode): void {
		this.run(
			`INSERT INTO node (node_id, status, since, last_seen_at, maintenance, ever_online, transport, seq)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (node_id) DO UPDATE SET status = excluded.status, since = excluded.since,
			   last_seen_at = excluded.last_seen_at, maintenance = excluded.maintenance,
			   ever_online = excluded.ever_online, transport = excluded.transport, seq = excluded.seq`,
			n.node_id, n.status, n.since, n.last_seen_at, n.maintenance, n.ever_online, n.transport, n.seq,
		);
	}

	deleteNode(nodeId: string): void {
		this.run("DELETE FROM node WHERE node_id = ?", nodeId);
	}

	onlineNodes(transport?: Transport): ShardNode[] {
		return (transport
			? this.read("SELECT * FROM node WHERE status = 'online' AND transport = ?", transport)
			: this.read("SELECT * FROM node WHERE status = 'online'")) as unknown as ShardNode[];
	}

	enqueue(op: OutboxOp): void {
		this.run("INSERT INTO outbox (op) VALUES (?)", JSON.stringify(op));
	}

	outbox(limit = 200): { id: number; op: OutboxOp }[] {
		return this.read("SELECT id, op FROM outbox ORDER BY id LIMIT ?", limit)
			.map((r) => ({ id: r.id as number, op: JSON.parse(r.op as string) as OutboxOp }));
	}

	outboxSize(): number {
		return this.read("SELECT count(*) AS n FROM outbox")[0]?.n as number;
	}

	ack(upToId: number): void {
		this.run("DELETE FROM outbox WHERE id <= ?", upToId);
	}

	/** Records a node token id; false when it was already used (a replay). */
	useJti(jti: string, exp: number): boolean {
		const cursor = this.run("INSERT OR IGNORE INTO used_jti (jti, exp) VALUES (?, ?)", jti, exp);
		return cursor.rowsWritten > 0;
	}

	/** True when a WebSocket connect already used this token id (a read: heartbeats write nothing). */
	jtiUsed(jti: string): boolean {
		return this.read("SELECT 1 FROM used_jti WHERE jti = ?", jti).length > 0;
	}

	pruneJti(now: number): void {
		this.run("DELETE FROM used_jti WHERE exp < ?", now);
	}

	meta<T>(key: string): T | null {
		const row = this.read("SELECT value FROM meta WHERE key = ?", key)[0];
		return row ? (JSON.parse(row.value as string) as T) : null;
	}

	setMeta(key: string, value: unknown): void {
		this.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, JSON.stringify(value));
	}

	challengeCounts(epoch: number): Record<string, ChallengeCounts> {
		const row = this.read("SELECT counts FROM challenge_counts WHERE epoch = ?", epoch)[0];
		return row ? (JSON.parse(row.counts as string) as Record<string, ChallengeCounts>) : {};
	}

	hasChallengeCounts(epoch: number): boolean {
		return this.read("SELECT 1 FROM challenge_counts WHERE epoch = ?", epoch).length > 0;
	}

	pruneChallengeCounts(beforeEpoch: number): void {
		this.run("DELETE FROM challenge_counts WHERE epoch >= 0 AND epoch < ?", beforeEpoch);
	}

	/** One row per epoch holds every node's counters: one write per checkpoint, however many nodes. */
	saveChallengeCounts(epoch: number, counts: Record<string, ChallengeCounts>): void {
		this.run(
			"INSERT INTO challenge_counts (epoch, counts) VALUES (?, ?) ON CONFLICT (epoch) DO UPDATE SET counts = excluded.counts",
			epoch, JSON.stringify(counts),
		);
	}
}
