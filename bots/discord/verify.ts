// Checks that an interaction really comes from Discord: discord-interactions' verifyKey over the raw body, and a fresh
// timestamp.
import { verifyKey } from "discord-interactions";

/** Interaction tokens live 15 minutes; a signed request older (or further ahead) than that is a replay, not Discord. */
export const MAX_SIGNATURE_AGE_S = 15 * 60;

export function timestampFresh(timestamp: string, now: number): boolean {
	if (!/^\d{1,12}$/.test(timestamp)) return false;
	return Math.abs(now / 1000 - Number(timestamp)) <= MAX_SIGNATURE_AGE_S;
}

/** True only for a body signed by the application's key (DISCORD_PUBLIC_KEY, hex); any missing piece is a refusal. */
export async function verifyInteraction(
	raw: Uint8Array,
	signature: string | null,
	timestamp: string | null,
	publicKey: string,
	now: number,
): Promise<boolean> {
	if (!signature || !timestamp || !publicKey) return false;
	if (!/^[0-9a-f]{128}$/i.test(signature) || !/^[0-9a-f]{64}$/i.test(publicKey)) return false;
	if (!timestampFresh(timestamp, now)) return false;
	return verifyKey(raw, signature, timestamp, publicKey);
}
