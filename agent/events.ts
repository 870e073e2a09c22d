// What a running agent reports: one event per thing that happened, printed by the reporter (names are public: --json).

export type Transport = "ws" | "http";

export type AgentEvent =
	| { event: "starting"; node_id: string; transport: Transport; coordinator: string }
	| { event: "connecting"; attempt: number }
	| { event: "connected"; transport: Transport }
	| {
			event: "welcome";
			heartbeat_interval_s: number;
			offline_after_s: number;
			status: string;
			server_time: string | null;
	  }
	| { event: "pong" }
	| { event: "status"; status: string }
	| { event: "challenge"; id: string; kind: string; answered: boolean }
	| {
			event: "challenge_result";
			id: string;
			passed: boolean;
			/** As the coordinator recorded it; `missed` results are told too. */
			outcome: "passed" | "failed" | "missed";
			/** The ledger epoch that counts it (null from a coordinator that does not say). */
			epoch: number | null;
	  }
	/** A hardware verification challenge arrived (acknowledged at once); the shape's fields are null if unreadable. */
	| { event: "verify"; id: string; method: string; rows: number | null; inner: number | null; cols: number | null }
	/** The root was sent, `solve_ms` after the challenge arrived (the agent's clock; the coordinator's is what counts). */
	| { event: "verify_commit"; id: string; solve_ms: number }
	/** The challenge was declined: unknown method, a shape the solver refuses, verification turned off, a failure. */
	| { event: "verify_decline"; id: string; reason: string }
	/** The revealed rows were opened and sent. */
	| { event: "verify_open"; id: string; rows: number }
	/** A part was given up without an answer (a reveal that cannot be answered, or none came). */
	| { event: "verify_error"; id: string; message: string }
	/** The coordinator's verdict on the whole verification: `verified` or `failed` (with its reason). */
	| { event: "verify_result"; state: string; reason?: string; measured_ms: number | null }
	/** A bandwidth measurement began (docs/VERIFICATION.md §12): this many uploads, then downloads, one at a time. */
	| { event: "bandwidth_start"; uploads: number; downloads: number }
	/** One transfer as the coordinator timed it (`ms`, `mbps` are its figures); `n` of `of` in its direction. */
	| {
			event: "bandwidth_sample";
			direction: "up" | "down";
			n: number;
			of: number;
			bytes: number;
			ms: number;
			mbps: number;
	  }
	/** The measurement ended: the tier and rates the coordinator now shows for the node. */
	| { event: "bandwidth_result"; tier: string; up_mbps: number | null; down_mbps: number | null }
	/** The measurement failed (the agent runs on); it is tried again in `retry_in_s`. */
	| { event: "bandwidth_error"; message: string; retry_in_s: number }
	| { event: "assign"; cluster_id: string; gpu_count: number; duration_s: number; peers: number }
	| { event: "ready"; cluster_id: string }
	| { event: "release"; cluster_id: string }
	| { event: "server_error"; code: string; message: string }
	| { event: "keepalive_timeout"; silent_ms: number }
	| { event: "connect_failed"; status: number | null; code: string | null; message: string }
	| { event: "disconnected"; code: number; reason: string; up_ms: number; error?: string }
	| { event: "heartbeat"; status: string; next_heartbeat_s: number }
	| { event: "heartbeat_failed"; status: number | null; code: string | null; message: string }
	| { event: "reconnecting"; in_ms: number; attempt: number }
	| { event: "stopping"; signal: string }
	| { event: "stopped"; reason: StopReason; exit_code: number };

/** Why the agent stopped: a signal (exit 0), or something that retrying cannot fix (exit 1). */
export type StopReason = "signal" | "node_deleted" | "replaced" | "unknown_node" | "fatal";

export type Emit = (e: AgentEvent) => void;

/** How a link ended; `message` is printed on stderr. */
export interface LinkOutcome {
	reason: StopReason;
	exitCode: number;
	message?: string;
}

export const UNKNOWN_NODE = (nodeId: string): string =>
	`The coordinator does not know node ${nodeId}: it was deleted, ` +
	`or registered with another coordinator. Run \`pulsegrid-agent init --force\`, then \`register\`.`;

/** Events too frequent to print one line each; they only feed the live status line. */
export const QUIET_EVENTS: ReadonlySet<AgentEvent["event"]> = new Set(["pong"]);

/** A `challenge_result` as either transport carries it, read defensively (fields a coordinator may not send). */
export function challengeResult(r: Record<string, unknown>): Extract<AgentEvent, { event: "challenge_result" }> {
	const passed = r.passed === true;
	const outcome = r.outcome === "missed" || r.outcome === "failed" || r.outcome === "passed" ? r.outcome : null;
	const epoch = typeof r.epoch === "number" ? r.epoch : null;
	return {
		event: "challenge_result",
		id: String(r.id),
		passed,
		outcome: outcome ?? (passed ? "passed" : "failed"),
		epoch,
	};
}
