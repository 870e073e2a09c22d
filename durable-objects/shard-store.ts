// A LivenessShard's own tables: node rows, the D1 outbox, used token ids, per-epoch challenge counts and the cluster
// assignments its nodes hold.
import type { ChallengeCounts, OutboxOp, Transport } from "../workers/contracts.ts";
import type { Flip } from "../workers/domain/flips.ts";
import type { NodeStatus } from "../workers/domain/status.ts";
import type { Sql } from "./kit.ts";

/** A node as the shard holds it; rows are mapped to and from this shape here only. */
export interface ShardNode {
	nodeId: string;
	status: NodeStatus;
	/** When the current status began (ms). */
	since: number;
	lastSeenAt: number | null;
	maintenance: boolean;
	everOnline: boolean;
	transport: Transport | null;
	/** Number of the node's last flip (0: none yet). */
	seq: number;
}

interface NodeRow {
	node_id: string;
	status: NodeStatus;
	since: number;
	last_seen_at: number | null;
	maintenance: number;
	ever_online: number;
	transport: Transport | null;
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
CREATE TABLE IF NOT EXISTS challenge_counts (epoch INTEGER PRIMARY KEY, counts TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS assignment (
  node_id TEXT NOT NULL, cluster_id TEXT NOT NULL, message TEXT NOT NULL, PRIMARY KEY (node_id, cluster_id)
);
`;

/** Named reads and writes of the shard's tables, through the object's counted `Sql` (rows are billed, benchmarked). */
export class ShardStore {
	constructor(private readonly sql: Sql) {
		sql.schema(SCHEMA);
	}

	node(nodeId: string): ShardNode | null {
		const row = this.sql.first<NodeRow>("SELECT * FROM node WHERE node_id = ?", nodeId);
		return row && fromRow(row);
	}

	nodeOrNew(nodeId: string, now: number): ShardNode {
		return (
			this.node(nodeId) ?? {
				nodeId,
				status: "new",
				since: now,
				lastSeenAt: null,
				maintenance: false,
				everOnline: false,
				transport: null,
				seq: 0,
			}
		);
	}

	/**
	 * An `assign` delivered to a node, kept until its `release`: the node may address that cluster (`ready`), and the
	 * message is sent again when the node reconnects (a socket that dropped took the first one with it).
	 */
	recordAssignment(nodeId: string, clusterId: string, message: object): void {
		this.sql.run(
			"INSERT OR REPLACE INTO assignment (node_id, cluster_id, message) VALUES (?, ?, ?)",
			nodeId,
			clusterId,
			JSON.stringify(message),
		);
	}

	forgetAssignment(nodeId: string, clusterId: string): void {
		this.sql.run("DELETE FROM assignment WHERE node_id = ? AND cluster_id = ?", nodeId, clusterId);
	}

	isAssigned(nodeId: string, clusterId: string): boolean {
		return (
			this.sql.first("SELECT 1 AS x FROM assignment WHERE node_id = ? AND cluster_id = ?", nodeId, clusterId) !== null
		);
	}

	/** The `assign` messages a node holds, to send again when it reconnects. */
	assignmentsOf(nodeId: string): object[] {
		return this.sql
			.all<{ message: string }>("SELECT message FROM assignment WHERE node_id = ? ORDER BY cluster_id", nodeId)
			.map((r) => JSON.parse(r.message) as object);
	}

	saveNode(n: ShardNode): void {
		this.sql.run(
			`INSERT INTO node (node_id, status, since, last_seen_at, maintenance, ever_online, transport, seq)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (node_id) DO UPDATE SET status = excluded.status, since = excluded.since,
			   last_seen_at = excluded.last_seen_at, maintenance = excluded.maintenance,
			   ever_online = excluded.ever_online, transport = excluded.transport, seq = excluded.seq`,
			n.nodeId,
			n.status,
			n.since,
			n.lastSeenAt,
			n.maintenance ? 1 : 0,
			n.everOnline ? 1 : 0,
			n.transport,
			n.seq,
		);
	}

	deleteNode(nodeId: string): void {
		this.sql.run("DELETE FROM node WHERE node_id = ?", nodeId);
	}

	onlineNodes(transport?: Transport): ShardNode[] {
		const rows = transport
			? this.sql.all<NodeRow>("SELECT * FROM node WHERE status = 'online' AND transport = ?", transport)
			: this.sql.all<NodeRow>("SELECT * FROM node WHERE status = 'online'");
		return rows.map(fromRow);
	}

	enqueue(op: OutboxOp): void {
		this.sql.run("INSERT INTO outbox (op) VALUES (?)", JSON.stringify(op));
	}

	outbox(limit = 200): { id: number; op: OutboxOp }[] {
		return this.sql
			.all<{ id: number; op: string }>("SELECT id, op FROM outbox ORDER BY id LIMIT ?", limit)
			.map((r) => ({ id: r.id, op: storedOp(r.op) }));
	}

	outboxSize(): number {
		return this.sql.value<number>("SELECT count(*) AS n FROM outbox") ?? 0;
	}

	ack(upToId: number): void {
		this.sql.run("DELETE FROM outbox WHERE id <= ?", upToId);
	}

	/** Records a node token id; false when it was already used (a replay). */
	useJti(jti: string, exp: number): boolean {
		return this.sql.run("INSERT OR IGNORE INTO used_jti (jti, exp) VALUES (?, ?)", jti, exp) > 0;
	}

	/** True when a WebSocket connect already used this token id (a read: heartbeats write nothing). */
	jtiUsed(jti: string): boolean {
		return this.sql.exists("SELECT 1 FROM used_jti WHERE jti = ?", jti);
	}

	pruneJti(now: number): void {
		this.sql.run("DELETE FROM used_jti WHERE exp < ?", now);
	}

	challengeCounts(epoch: number): Record<string, ChallengeCounts> {
		const row = this.sql.first<{ counts: string }>("SELECT counts FROM challenge_counts WHERE epoch = ?", epoch);
		return row ? (JSON.parse(row.counts) as Record<string, ChallengeCounts>) : {};
	}

	deleteChallengeCounts(epoch: number): void {
		this.sql.run("DELETE FROM challenge_counts WHERE epoch = ?", epoch);
	}

	pruneChallengeCounts(beforeEpoch: number): void {
		this.sql.run("DELETE FROM challenge_counts WHERE epoch >= 0 AND epoch < ?", beforeEpoch);
	}

	/** One row per epoch holds every node's counts: one write per batch of outcomes, however many nodes. */
	saveChallengeCounts(epoch: number, counts: Record<string, ChallengeCounts>): void {
		this.sql.run(
			`INSERT INTO challenge_counts (epoch, counts) VALUES (?, ?)
			 ON CONFLICT (epoch) DO UPDATE SET counts = excluded.counts`,
			epoch,
			JSON.stringify(counts),
		);
	}
}

function fromRow(r: NodeRow): ShardNode {
	return {
		nodeId: r.node_id,
		status: r.status,
		since: r.since,
		lastSeenAt: r.last_seen_at,
		maintenance: r.maintenance === 1,
		everOnline: r.ever_online === 1,
		transport: r.transport,
		seq: r.seq,
	};
}

/** An outbox op as an earlier version may have stored it: flips without `seq`, tags without `node_ids`. */
type StoredOp =
	| { kind: "flips"; flips: (Omit<Flip, "seq"> & { seq?: number })[] }
	| Exclude<OutboxOp, { kind: "flips" | "tag" }>
	| (Omit<Extract<OutboxOp, { kind: "tag" }>, "node_ids"> & { node_ids?: string[] });

/**
 * Reads a queued op. The legacy path: ops queued before flips carried `seq` (and tags `node_ids`) may still wait in
 * a deployed shard's outbox, so those fields are recovered from the flip ids (`${nodeId}:${seq}`). This is the only
 * place an id is taken apart; it can go once no shard holds such a row.
 */
function storedOp(json: string): OutboxOp {
	const op = JSON.parse(json) as StoredOp;
	const seqOf = (id: string) => Number(id.slice(id.lastIndexOf(":") + 1));
	const nodeOf = (id: string) => id.slice(0, id.lastIndexOf(":"));
	if (op.kind === "flips") return { kind: "flips", flips: op.flips.map((f) => ({ ...f, seq: f.seq ?? seqOf(f.id) })) };
	if (op.kind === "tag") return { ...op, node_ids: op.node_ids ?? op.flip_ids.map(nodeOf) };
	return op;
}
