// The types that cross between the Worker and the Durable Objects (RPC arguments and answers, outbox operations).
// A leaf: it imports only pure domain modules and the failure type, never a service, a route or an object, so no
// import can run in a circle through it.
import type { AlertFlip } from "./domain/alerts.ts";
import type { ChallengeResult } from "./domain/challenge.ts";
import type { Flip, Transport } from "./domain/flips.ts";
import type { Quote } from "./domain/pricing.ts";
import type { NodeStatus } from "./domain/status.ts";
import type { Failure, JsonValue } from "./failure.ts";

// --- LivenessShard ---

export type { Transport } from "./domain/flips.ts";

export interface ChallengeCounts {
	issued: number;
	passed: number;
	failed: number;
	missed: number;
}

export interface NodeLiveness {
	status: NodeStatus;
	last_seen_at: number | null;
	connected: boolean;
	transport: Transport | null;
	/** Availability challenges of the open epoch. */
	challenges: ChallengeCounts;
}

export interface HeartbeatResult {
	status: NodeStatus;
	next_heartbeat_s: number;
	challenge: { id: string; kind: string; nonce: string; deadline: string } | null;
	results: ChallengeResult[];
}

/** What a shard answers a beat with: the wire's result, and whether the beat began the node's HTTP session. */
export interface HeartbeatOutcome extends HeartbeatResult {
	/** The first beat this shard instance heard from the node: the route records where it came from (§13). */
	sessionStart: boolean;
}

/** Billable-operation counters of a shard, read by the benchmark's cost model (GET /v1/admin/liveness). */
export interface ShardMetrics {
	alarms: number;
	socketsSwept: number;
	messagesIn: number;
	connects: number;
	heartbeats: number;
	/** Rows written by events (flips, outbox, token ids): zero for a beat that changes nothing. */
	rowsWrittenDO: number;
	/** Rows written by periodic checkpoints: a few per CHECKPOINT_S, whatever the node count. */
	rowsWrittenCheckpoint: number;
	rowsWrittenD1: number;
	/** Rows read from the shard's SQLite (billed too): a healthy sweep reads none per node. */
	rowsReadDO: number;
	/** Verification messages refused (not issued, ended, repeated, out of order): answered `verify_refused`. */
	verifyRefused: number;
}

export type IncidentReason = "mass_drop" | "coordinator_restart";

/** One thing a shard must still write to D1; kept in the shard's outbox until D1 acknowledges it. */
export type OutboxOp =
	| { kind: "flips"; flips: Flip[] }
	| {
			kind: "incident";
			id: string;
			scope: string;
			reason: IncidentReason;
			started_at: number;
			ended_at: number | null;
			nodes_affected: number;
	  }
	| {
			kind: "tag";
			incident_id: string;
			flip_ids: string[];
			/** The nodes of those flips (same order), for the alert hand-off. */
			node_ids: string[];
			intervals: { node_id: string; started_at: number }[];
	  };

// --- OperatorAlerts and the DeliveryGate ---

/** A shard's incident tag for some of an operator's nodes, delivered after the flips it reclassifies. */
export interface AlertTag {
	incidentId: string;
	nodeIds: string[];
}

export type { AlertFlip };

/** `tg:<chat id>` for a Telegram chat, `dc:<webhook id>/<token>` for a Discord channel webhook. */
export type Dest = string;

/** One message to send, or one edit of a message sent before with the same `ref`. */
export interface GateJob {
	/** Idempotency key: enqueuing the same id twice queues it once. */
	id: string;
	dest: Dest;
	/** Names the message across its send and edits (e.g. `<account>:m3`). */
	ref: string;
	kind: "send" | "edit";
	text: string;
}

export interface GateStats {
	queued: number;
	sent: number;
	edited: number;
	coalesced: number;
	throttled: number;
	failed: number;
}

export interface DiscordWebhook {
	id: string;
	token: string;
}

export interface AlertSettings {
	/** Per-node alerts on or off (off is a mute without end; the digest is separate). */
	alerts: boolean;
	digest: boolean;
	/** Hour of the day (UTC) the digest is sent. */
	digest_hour_utc: number;
	discord_webhook: DiscordWebhook | null;
}

/** A settings change as the API and the bots accept it; `discord_webhook_url: null` removes the webhook. */
export interface SettingsPatch {
	alerts?: boolean | undefined;
	digest?: boolean | undefined;
	digest_hour_utc?: number | undefined;
	discord_webhook_url?: string | null | undefined;
}

export interface SettingsSnapshot {
	settings: AlertSettings;
	mutes: Record<string, number>;
}

// --- Scheduler ---

/** A status change as the shards report it; `seq` orders changes of one node. */
export interface CapacityChange {
	nodeId: string;
	to: string;
	seq: number;
	at: number;
	/** The node's last sign of life (ms): a rented node that went silent is billed until then, not until detected. */
	lastSeenAt: number | null;
	/** Only WebSocket nodes can be told of work; `http` nodes are never capacity. */
	transport: Transport | null;
}

export interface Reserved {
	node_id: string;
	gpu_count: number;
	shard: string;
	account_id: string;
	/** 1 when the node's hardware is verified; the scheduler takes verified nodes first and says when it could not. */
	verified?: number;
}

/**
 * What `Scheduler.reserve` found: the nodes, or (refused) the idle GPUs of the model and `why` in a sentence that is
 * true of them: too few idle GPUs, or no set of whole idle nodes adding up to exactly the count.
 */
export type Reservation = { ok: true; nodes: Reserved[] } | { ok: false; available_gpus: number; why: string };

// --- Cluster ---

export type ClusterStatus = "pending" | "running" | "degraded" | "completed" | "terminated" | "failed";
export type MemberState = "assigned" | "ready" | "lost" | "released";

export interface ClusterSpec {
	account_id: string;
	gpu_model: string;
	gpu_count: number;
	hours: number;
	region: string | null;
	max_price_per_gpu_hour_cents: number | null;
}

/** A cluster as its owner reads it (`GET /v1/clusters/{id}`). */
export interface ClusterView {
	id: string;
	account_id: string;
	status: ClusterStatus;
	gpu_model: string;
	gpu_count: number;
	hours: number;
	region: string | null;
	price_per_gpu_hour_cents: number;
	hold_cents: number;
	charged_cents: number;
	refunded_cents: number;
	created_at: string | null;
	started_at: string | null;
	ends_at: string | null;
	ended_at: string | null;
	nodes: {
		node_id: string;
		gpu_count: number;
		state: MemberState;
		assigned_at: string | null;
		ready_at: string | null;
		ended_at: string | null;
	}[];
	events: ({ at: string | null; kind: string } & { readonly [key: string]: JsonValue })[];
}

/** A deploy's answer: the cluster (created now, or the same request seen before), or why not. */
export type CreateResult = { ok: true; created: boolean; cluster: ClusterView } | { ok: false; failure: Failure };

export type { Quote };

// --- EpochSettler ---

/** Bounds on one call's work: at most `maxPages` pages of `pageSize` nodes; the next call resumes. */
export interface SettleBudget {
	maxPages?: number;
	pageSize?: number;
}

export interface SettleResult {
	/** The epochs settled by this call, oldest first. */
	settled: { epoch: number; root: string }[];
	/** False when the work budget ran out first (or an epoch is blocked); the next call resumes where this one stopped. */
	done: boolean;
	/** An epoch whose figures break an invariant: not published, staff alerted, recomputed on the next call. */
	blocked?: { epoch: number; violations: string[] };
}
