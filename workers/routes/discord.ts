// POST /discord/interactions: verified on the raw body before anything is parsed (401 otherwise), then answered by the
// bot.
import type { IRequest } from "itty-router";
import { handleInteraction, readInteraction } from "../../bots/discord/interactions.ts";
import { verifyInteraction } from "../../bots/discord/verify.ts";
import { ApiError, json, readBoundedBytes } from "../http.ts";

/** Interactions are small; resolved users and roles stay well under this. */
const MAX_INTERACTION_BYTES = 64 * 1024;

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
	return json(await handleInteraction(readInteraction(body), env, ctx, now));
}
