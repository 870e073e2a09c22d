// POST /discord/interactions: verified on the raw body before anything is parsed (401 otherwise), refused if already
// handled (409: a replay), then answered by the bot.
import type { IRequest } from "itty-router";
import { handleInteraction, readInteraction } from "../../bots/discord/interactions.ts";
import { MAX_SIGNATURE_AGE_S, verifyInteraction } from "../../bots/discord/verify.ts";
import { firstSighting } from "../db/discord-interactions.ts";
import { ApiError, json, readBoundedBytes } from "../http.ts";

/** Interactions are small; resolved users and roles stay well under this. */
const MAX_INTERACTION_BYTES = 64 * 1024;
/**
 * A signature is fresh for 15 minutes either side of its timestamp, so an interaction first seen at `t` could be
 * replayed with a fresh signature until `t` + 30 minutes: its id is kept that long (D1, `discord_interactions`).
 */
const INTERACTION_ID_KEEP_MS = 2 * MAX_SIGNATURE_AGE_S * 1000;

export async function discordInteractions(request: IRequest, env: Env, ctx: ExecutionContext): Promise<Response> {
	const now = Date.now();
	const raw = await readBoundedBytes(request, MAX_INTERACTION_BYTES);
	const ok = await verifyInteraction(
		raw,
		request.headers.get("x-signature-ed25519"),
		request.headers.get("x-signature-timestamp"),
		env.DISCORD_PUBLIC_KEY,
		now,
	);
	// Not counted against the caller's IP: Discord itself sends badly signed requests to check that we refuse them.
	if (!ok) throw new ApiError(401, "unauthorized", "Invalid request signature.");
	let body: unknown;
	try {
		body = JSON.parse(new TextDecoder().decode(raw));
	} catch {
		throw new ApiError(400, "invalid_json", "The body is not valid JSON.");
	}
	const interaction = readInteraction(body);
	// PINGs change nothing (and Discord's endpoint check sends them): only commands are deduplicated.
	if (interaction !== "ping" && !(await firstSighting(env.DB, interaction.id, now, INTERACTION_ID_KEEP_MS)))
		throw new ApiError(409, "conflict", "This interaction was already handled.");
	return json(await handleInteraction(interaction, env, ctx, now));
}
