// Availability challenges: a nonce that must come back transformed before a deadline (shared with the agent).
import type { Settings } from "./settings.ts";

/** The only kind so far; hardware compute challenges will add kinds with their own payloads. */
export const ECHO_KIND = "echo-sha256";

export interface Challenge {
	id: string;
	kind: typeof ECHO_KIND;
	nonce: string;
	/** Deadline (ms since epoch) for the answer to reach the coordinator. */
	deadline: number;
}

/** How a challenge ended: answered right in time, answered wrong or late, or not answered (or the node left first). */
export type Outcome = "passed" | "failed" | "missed";

/** What the agent is told once an outcome is recorded, over either transport. */
export interface ChallengeResult {
	id: string;
	passed: boolean;
	outcome: Outcome;
	/** The epoch whose ledger row counts it. */
	epoch: number;
}

export function base64url(bytes: Uint8Array): string {
	let bin = "";
	for (const b of bytes) bin += String.fromCharCode(b);
	return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The bytes of base64url without padding, or null when `s` is not that (a wrong alphabet or length). */
export function fromBase64url(s: unknown): Uint8Array | null {
	if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
	const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
	return out;
}

export function randomToken(bytes = 16): string {
	return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

export function newChallenge(now: number, s: Settings): Challenge {
	return {
		id: `chl_${randomToken(9)}`,
		kind: ECHO_KIND,
		nonce: randomToken(16),
		deadline: now + s.challengeTimeoutS * 1000,
	};
}

/**
 * The answer: base64url(SHA-256("pulsegrid-echo:" + node_id + ":" + nonce)). Binding the node id stops relaying one
 * answer for many nodes.
 */
export async function echoAnswer(nodeId: string, nonce: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`pulsegrid-echo:${nodeId}:${nonce}`));
	return base64url(new Uint8Array(digest));
}

/**
 * How many online nodes to challenge in one sweep so that each node is challenged on average once per
 * CHALLENGE_EVERY_S. Fractions are rounded stochastically, so small shards are still sampled fairly.
 */
export function challengeSampleSize(online: number, s: Settings, random: () => number): number {
	const expected = (online * s.sweepIntervalS) / s.challengeEveryS;
	const whole = Math.floor(expected);
	return Math.min(online, whole + (random() < expected - whole ? 1 : 0));
}

/** Picks `k` distinct items uniformly (partial Fisher–Yates). */
export function sample<T>(items: T[], k: number, random: () => number): T[] {
	const a = items.slice();
	const n = Math.min(k, a.length);
	for (let i = 0; i < n; i++) {
		const j = i + Math.floor(random() * (a.length - i));
		[a[i], a[j]] = [a[j] as T, a[i] as T];
	}
	return a.slice(0, n);
}
