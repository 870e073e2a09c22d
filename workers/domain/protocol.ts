// The agent ⇄ coordinator WebSocket protocol: every message type, shared by the shard and the agent.
import { z } from "zod";
import type { ChallengeResult } from "./challenge.ts";

/** Keepalive frames: answered by the runtime without waking the shard. */
export const KEEPALIVE_PING = "ping";
export const KEEPALIVE_PONG = "pong";

/** Close codes the coordinator uses (4000–4999 are application codes). */
export const CLOSE = {
	normal: 1000,
	keepaliveTimeout: 4000,
	replaced: 4001,
	deleted: 4002,
	badMessage: 4003,
	/** The node's key was rotated or revoked (issue 12): reconnect with the current key; a revoked key gets 401. */
	keyChanged: 4004,
} as const;

export const AgentMessage = z.discriminatedUnion("type", [
	z.object({ type: z.literal("challenge_response"), id: z.string().max(64), answer: z.string().max(256) }).strict(),
	z.object({ type: z.literal("bye"), reason: z.string().max(200).optional() }).strict(),
	z.object({ type: z.literal("ready"), cluster_id: z.string().regex(/^clu_[A-Za-z0-9_-]{8,40}$/) }).strict(),
	// Hardware verification (docs/VERIFICATION.md §6).
	z.object({ type: z.literal("verify_ack"), id: z.string().max(64) }).strict(),
	z
		.object({ type: z.literal("verify_commit"), id: z.string().max(64), root: z.string().regex(/^[0-9a-f]{64}$/) })
		.strict(),
	z.object({ type: z.literal("verify_decline"), id: z.string().max(64), reason: z.string().max(200) }).strict(),
	z
		.object({
			type: z.literal("verify_open"),
			id: z.string().max(64),
			rows: z
				.array(
					z
						.object({
							i: z.number().int().nonnegative(),
							values: z.string().max(65_536),
							path: z.array(z.string().max(64)).max(64),
						})
						.strict(),
				)
				.max(64),
		})
		.strict(),
]);
export type AgentMessage = z.infer<typeof AgentMessage>;

export type CoordinatorMessage =
	| {
			type: "welcome";
			node_id: string;
			heartbeat_interval_s: number;
			offline_after_s: number;
			server_time: string;
			status: string;
	  }
	| { type: "challenge"; id: string; kind: string; nonce: string; deadline: string }
	| ({ type: "challenge_result" } & ChallengeResult)
	| { type: "status"; status: string }
	| { type: "assign"; cluster_id: string; gpu_count: number; peers: string[]; duration_s: number }
	| { type: "release"; cluster_id: string }
	| { type: "error"; code: string; message: string }
	| {
			type: "verify";
			id: string;
			method: string;
			seed: string;
			shape: { rows: number; inner: number; cols: number };
			deadline: string;
	  }
	| { type: "verify_reveal"; id: string; r: string; rows: number[] }
	| { type: "verify_result"; state: "verified" | "failed"; reason?: string; measured_ms: number };

/** Largest agent message the shard reads; anything bigger closes the socket… */
export const MAX_AGENT_MESSAGE_BYTES = 4096;
/** …except a `verify_open`, which carries the opened rows of a compute challenge. */
export const MAX_VERIFY_OPEN_BYTES = 262_144;

/** Whether a frame of this size may be read: the small limit, or the large one for a `verify_open`. */
export function frameAllowed(message: string | ArrayBuffer): boolean {
	const bytes = agentMessageBytes(message);
	if (bytes <= MAX_AGENT_MESSAGE_BYTES) return true;
	return (
		bytes <= MAX_VERIFY_OPEN_BYTES && typeof message === "string" && /^\s*\{\s*"type"\s*:\s*"verify_open"/.test(message)
	);
}

/** A frame's size in bytes, as the limit counts it (UTF-8 for text). */
export function agentMessageBytes(message: string | ArrayBuffer): number {
	return typeof message === "string" ? new TextEncoder().encode(message).byteLength : message.byteLength;
}

/** The agent message a text frame carries, or null when it is not one (binary, not JSON, unknown type). */
export function parseAgentMessage(message: string | ArrayBuffer): AgentMessage | null {
	if (typeof message !== "string") return null;
	try {
		const r = AgentMessage.safeParse(JSON.parse(message));
		return r.success ? r.data : null;
	} catch {
		return null;
	}
}
