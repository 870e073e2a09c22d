// Alert settings and mutes, shared by the HTTP API and the bots: one operator's OperatorAlerts object is the authority.
import type { SettingsPatch, SettingsSnapshot } from "../contracts.ts";
import * as links from "../db/links.ts";
import { maskedWebhook } from "../domain/alert-settings.ts";
import { parseDuration } from "../domain/duration.ts";
import { ApiError, unwrap } from "../failure.ts";
import { iso } from "../http.ts";
import { ofAccount, type NodeRow } from "../db/nodes.ts";

export type { AlertSettings, SettingsPatch, SettingsSnapshot } from "../contracts.ts";

export function operatorAlerts(env: Env, accountId: string) {
	return env.ALERTS.getByName(accountId);
}

/** What the API returns and the bot shows: the webhook's token is never shown again. */
export function settingsView(snap: SettingsSnapshot, telegramChats: number, now: number) {
	const s = snap.settings;
	return {
		alerts: s.alerts,
		digest: s.digest,
		digest_hour_utc: s.digest_hour_utc,
		discord_webhook: s.discord_webhook ? maskedWebhook(s.discord_webhook) : null,
		telegram_chats: telegramChats,
		mutes: Object.entries(snap.mutes)
			.filter(([, until]) => until > now)
			.map(([target, until]) => ({ target, until: iso(until) })),
	};
}

export type SettingsView = ReturnType<typeof settingsView>;

/**
 * The account's alert settings and active mutes, as `GET /v1/alerts/settings` returns them and the bots' /alerts show
 * them.
 */
export async function alertSettings(env: Env, accountId: string, now: number): Promise<SettingsView> {
	const [snap, chats] = await Promise.all([
		operatorAlerts(env, accountId).snapshot(),
		links.telegramChats(env.DB, accountId),
	]);
	return settingsView(snap, chats.length, now);
}

/** Applies a change (refused whole, 400, if any part is invalid) and returns the settings as they now are. */
export async function changeAlertSettings(
	env: Env,
	accountId: string,
	patch: SettingsPatch,
	now: number,
): Promise<SettingsView> {
	unwrap(await operatorAlerts(env, accountId).updateSettings(patch, now));
	return alertSettings(env, accountId, now);
}

/** One of the account's own nodes, by id or by name (case-insensitive); other accounts' nodes are never found (404). */
export async function findOwnNode(db: D1Database, accountId: string, ref: string): Promise<NodeRow> {
	const rows = await ofAccount(db, accountId);
	const byId = rows.find((r) => r.id === ref);
	if (byId) return byId;
	const byName = rows.filter((r) => r.name.toLowerCase() === ref.toLowerCase());
	if (byName.length === 1) return byName[0] as NodeRow;
	if (byName.length > 1)
		throw new ApiError(404, "not_found", `Several of your nodes are named '${ref}'; use the node id.`);
	throw new ApiError(404, "not_found", `You have no node '${ref}'.`);
}

/** Mutes one of the account's nodes (by id or name) or "all" for a typed duration (30m, 2h, 1d; at most 30 days). */
export async function muteAlerts(env: Env, accountId: string, target: string, duration: string, now: number) {
	const d = parseDuration(duration);
	if (!d.ok) throw new ApiError(400, "validation_failed", d.reason);
	let id = "all";
	let label = "all nodes";
	if (target.toLowerCase() !== "all") {
		const node = await findOwnNode(env.DB, accountId, target);
		id = node.id;
		label = node.name;
	}
	const until = now + d.ms;
	await operatorAlerts(env, accountId).mute(id, until, now);
	return { target: id, label, until };
}

/** Lifts the mute on a node (id or name) or "all", or every mute when no target is given; returns what was lifted. */
export async function unmuteAlerts(env: Env, accountId: string, target: string | undefined): Promise<string[]> {
	let id: string | undefined = target;
	if (target && target.toLowerCase() !== "all") id = (await findOwnNode(env.DB, accountId, target)).id;
	else if (target) id = "all";
	return operatorAlerts(env, accountId).unmute(id);
}
