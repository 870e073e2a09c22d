// Alert settings and mutes, shared by the HTTP API and the bots: one operator's OperatorAlerts object is the authority.
import { parseDuration } from "../domain/duration.ts";
import { DEFAULT_ALERT_RULES, type AlertRules } from "../domain/alerts.ts";
import { iso } from "../http.ts";
import type { AlertSettings, SettingsPatch, SettingsSnapshot } from "../contracts.ts";
import { maskedWebhook, parseDiscordWebhook } from "../transports/discord.ts";

export type { AlertSettings, SettingsPatch, SettingsSnapshot };
import { listNodeRows, type NodeRow } from "./nodes.ts";

export const DEFAULT_ALERT_SETTINGS: AlertSettings = { alerts: true, digest: false, digest_hour_utc: 8, discord_webhook: null };

export function operatorAlerts(env: Env, accountId: string) {
	return env.ALERTS.getByName(accountId);
}

/** Alert timing from wrangler vars; a missing or non-positive value keeps the default. */
export function readAlertRules(env: Env): AlertRules {
	const num = (v: unknown, fallback: number) => {
		const n = Number(v);
		return typeof v === "string" && v !== "" && Number.isFinite(n) && n > 0 ? n : fallback;
	};
	const vars = env as unknown as Record<string, unknown>;
	return {
		groupWindowMs: num(vars.ALERT_GROUP_WINDOW_S, DEFAULT_ALERT_RULES.groupWindowMs / 1000) * 1000,
		editWindowMs: num(vars.ALERT_EDIT_WINDOW_S, DEFAULT_ALERT_RULES.editWindowMs / 1000) * 1000,
		flapCount: num(vars.ALERT_FLAP_COUNT, DEFAULT_ALERT_RULES.flapCount),
		flapWindowMs: num(vars.ALERT_FLAP_WINDOW_S, DEFAULT_ALERT_RULES.flapWindowMs / 1000) * 1000,
	};
}

export type PatchResult = { ok: true; settings: AlertSettings } | { ok: false; reason: string };

/** Applies a patch to settings; the Discord URL must be one of Discord's own webhook URLs. */
export function applyPatch(current: AlertSettings, p: SettingsPatch): PatchResult {
	const next: AlertSettings = { ...current };
	if (p.alerts !== undefined) next.alerts = p.alerts;
	if (p.digest !== undefined) next.digest = p.digest;
	if (p.digest_hour_utc !== undefined) next.digest_hour_utc = p.digest_hour_utc;
	if (p.discord_webhook_url === null) next.discord_webhook = null;
	else if (p.discord_webhook_url !== undefined) {
		const hook = parseDiscordWebhook(p.discord_webhook_url);
		if (!hook) return { ok: false, reason: "discord_webhook_url must be a Discord webhook URL: https://discord.com/api/webhooks/<id>/<token>" };
		next.discord_webhook = hook;
	}
	return { ok: true, settings: next };
}

/** What the API returns and the bot shows: the webhook's token is never shown again. */
export function settingsView(snap: SettingsSnapshot, telegramChats: number, now: number) {
	const s = snap.settings;
	return {
		alerts: s.alerts, digest: s.digest, digest_hour_utc: s.digest_hour_utc,
		discord_webhook: s.discord_webhook ? maskedWebhook(s.discord_webhook) : null,
		telegram_chats: telegramChats,
		mutes: Object.entries(snap.mutes).filter(([, until]) => until > now).map(([target, until]) => ({ target, until: iso(until) })),
	};
}

export type SettingsView = ReturnType<typeof settingsView>;

/** The account's alert settings and active mutes, as `GET /v1/alerts/settings` returns them and the bots' /alerts show them. */
export async function alertSettings(env: Env, accountId: string, now: number): Promise<SettingsView> {
	const [snap, chats] = await Promise.all([operatorAlerts(env, accountId).snapshot(accountId), telegramChatsOf(env.DB, accountId)]);
	return settingsView(snap, chats.length, now);
}

/** Applies a change (refused whole if any part is invalid) and returns the settings as they now are. */
export async function changeAlertSettings(env: Env, accountId: string, patch: SettingsPatch, now: number): Promise<{ ok: true; settings: SettingsView } | { ok: false; reason: string }> {
	const r = await operatorAlerts(env, accountId).updateSettings(accountId, patch);
	if (!r.ok) return r;
	return { ok: true, settings: await alertSettings(env, accountId, now) };
}

export async function telegramChatsOf(db: D1Database, accountId: string): Promise<string[]> {
	const { results } = await db.prepare("SELECT external_id FROM chat_links WHERE kind = 'telegram' AND account_id = ? ORDER BY linked_at").bind(accountId).all<{ external_id: string }>();
	return results.map((r) => r.external_id);
}

/** One of the account's own nodes, by id or by name (case-insensitive); other accounts' nodes are never found. */
export async function findOwnNode(db: D1Database, accountId: string, ref: string): Promise<{ node: NodeRow } | { error: string }> {
	const rows = await listNodeRows(db, accountId);
	const byId = rows.find((r) => r.id === ref);
	if (byId) return { node: byId };
	const byName = rows.filter((r) => r.name.toLowerCase() === ref.toLowerCase());
	if (byName.length === 1) return { node: byName[0] as NodeRow };
	if (byName.length > 1) return { error: `Several of your nodes are named '${ref}'; use the node id.` };
	return { error: `You have no node '${ref}'.` };
}

export type Refusal = { ok: false; code: "not_found" | "invalid"; reason: string };
export type MuteResult = { ok: true; target: string; label: string; until: number } | Refusal;

/** Mutes one of the account's nodes (by id or name) or "all" for a typed duration (30m, 2h, 1d; at most 30 days). */
export async function muteAlerts(env: Env, accountId: string, target: string, duration: string, now: number): Promise<MuteResult> {
	const d = parseDuration(duration);
	if (!d.ok) return { ok: false, code: "invalid", reason: d.reason };
	let id = "all";
	let label = "all nodes";
	if (target.toLowerCase() !== "all") {
		const found = await findOwnNode(env.DB, accountId, target);
		if ("error" in found) return { ok: false, code: "not_found", reason: found.error };
		id = found.node.id;
		label = found.node.name;
	}
	const until = now + d.ms;
	await operatorAlerts(env, accountId).mute(accountId, id, until);
	return { ok: true, target: id, label, until };
}

/** Lifts the mute on a node (id or name) or "all", or every mute when no target is given; returns what was lifted. */
export async function unmuteAlerts(env: Env, accountId: string, target: string | undefined): Promise<{ ok: true; lifted: string[] } | Refusal> {
	let id: string | undefined = target;
	if (target && target.toLowerCase() !== "all") {
		const found = await findOwnNode(env.DB, accountId, target);
		if ("error" in found) return { ok: false, code: "not_found", reason: found.error };
		id = found.node.id;
	} else if (target) id = "all";
	return { ok: true, lifted: await operatorAlerts(env, accountId).unmute(accountId, id) };
}
