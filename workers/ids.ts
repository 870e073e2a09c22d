// Opaque prefixed ids, API keys and their hashes.
import { randomToken } from "./domain/challenge.ts";

export type IdPrefix = "acc" | "node" | "clu" | "tkt";

export function newId(prefix: IdPrefix): string {
	return `${prefix}_${randomToken(12)}`;
}

/** 32 random bytes; only its SHA-256 is stored. */
export function newApiKey(): string {
	return `pgk_${randomToken(32)}`;
}

export async function sha256Hex(text: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
	return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Constant-time comparison of two secrets (hashed first so lengths always match). */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
	const [ha, hb] = await Promise.all([a, b].map((x) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(x))));
	return crypto.subtle.timingSafeEqual(ha as ArrayBuffer, hb as ArrayBuffer);
}
