// Alert settings and mutes over HTTP (owner only): the same service the Telegram bot's /alerts, /mute and /unmute use.
import type { IRequest } from "itty-router";
import { z } from "zod";
import { requireAccount } from "../auth.ts";
import { ApiError, iso, json, readJson } from "../http.ts";
import { line, userText } from "../schemas.ts";
import { alertSettings, changeAlertSettings, muteAlerts, unmuteAlerts } from "../services/alerts.ts";

export const PatchAlertSettings = z
	.object({
		alerts: z.boolean().optional(),
		digest: z.boolean().optional(),
		digest_hour_utc: z.number().int().min(0).max(23).optional(),
		discord_webhook_url: userText(z.string().max(300)).nullable().optional(),
	})
	.strict()
	.refine((v) => Object.keys(v).length > 0, "send at least one setting");

export const PostMute = z
	.object({
		target: line(64).describe('A node id or name of yours, or "all"'),
		duration: userText(z.string().trim().min(2).max(8)).describe("30m, 2h, 1d… at most 30d"),
	})
	.strict();

export async function getAlertSettings(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	return json({ settings: await alertSettings(env, account.id, Date.now()) });
}

export async function patchAlertSettings(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	const body = await readJson(request, PatchAlertSettings);
	return json({ settings: await changeAlertSettings(env, account.id, body, Date.now()) });
}

export async function postMute(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	const body = await readJson(request, PostMute);
	const r = await muteAlerts(env, account.id, body.target, body.duration, Date.now());
	return json({ mute: { target: r.target, until: iso(r.until) } }, 201);
}

export async function deleteMute(request: IRequest, env: Env): Promise<Response> {
	const account = await requireAccount(request, env);
	const lifted = await unmuteAlerts(env, account.id, request.params.target as string); // decoded by the router
	if (!lifted.length) throw new ApiError(404, "not_found", "Nothing is muted under that name.");
	return json({ lifted });
}
