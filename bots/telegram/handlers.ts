// What each linked-chat command answers: thin shells over the services the HTTP API uses (nodes, maintenance, alert settings, mutes).
import { formatDuration } from "../../workers/domain/duration.ts";
import { iso } from "../../workers/http.ts";
import type { Account } from "../../workers/services/accounts.ts";
import {
	findOwnNode, muteAlerts, operatorAlerts, settingsView, telegramChatsOf, unmuteAlerts, type SettingsPatch,
} from "../../workers/services/alerts.ts";
import { setNodeMaintenance } from "../../workers/services/maintenance.ts";
import { nodeSummaries, type NodeSummary } from "../../workers/services/node-summary.ts";
import { usageOf } from "./commands.ts";

const ICON: Record<NodeSummary["status"], string> = { online: "🟢", offline: "🔴", maintenance: "🛠", new: "⚪️" };
const MAX_LISTED = 40;

function ago(ms: number | null, now: number): string {
	return ms === null ? "never" : `${formatDuration(now - ms)} ago`;
}

function args(text: string): string[] {
	return text.trim().split(/\s+/).filter(Boolean);
}

export async function statusText(env: Env, account: Account, now: number): Promise<string> {
	const nodes = await nodeSummaries(env, account.id, now);
	const count = (s: NodeSummary["status"]) => nodes.filter((n) => n.status === s).length;
	const snap = await operatorAlerts(env, account.id).snapshot(account.id);
	const flapping = new Set(await operatorAlerts(env, account.id).flapping());
	const mutes = settingsView(snap, 0, now).mutes;
	const name = (id: string) => (id === "all" ? "all nodes" : nodes.find((n) => n.id === id)?.name ?? id);
	const lines = [
		`${account.name}: ${nodes.length} node${nodes.length === 1 ? "" : "s"} — ${count("online")} online, ${count("offline")} offline, ${count("maintenance")} in maintenance, ${count("new")} never connected`,
		`Alerts: ${snap.settings.alerts ? "on" : "off"}${mutes.length ? `; muted: ${mutes.map((m) => `${name(m.target)} until ${m.until?.slice(11, 16)} UTC`).join(", ")}` : ""}`,
	];
	const down = nodes.filter((n) => n.status === "offline");
	if (down.length) lines.push(`Offline: ${down.slice(0, MAX_LISTED).map((n) => `${n.name} (last seen ${ago(n.last_seen_at, now)})`).join(", ")}`);
	if (flapping.size) lines.push(`Flapping (alerts paused until stable): ${nodes.filter((n) => flapping.has(n.id)).map((n) => n.name).join(", ")}`);
	return lines.join("\n");
}

export async function nodesText(env: Env, account: Account, now: number): Promise<string> {
	const nodes = await nodeSummaries(env, account.id, now);
	if (!nodes.length) return "You have no nodes yet. Register one with: npx pulsegrid-agent register";
	const lines = nodes.slice(0, MAX_LISTED).map((n) =>
		`${ICON[n.status]} ${n.name} (${n.id}) — ${n.status}, last seen ${ago(n.last_seen_at, now)}, 24 h uptime ${(n.uptime_24h * 100).toFixed(1)}%`);
	if (nodes.length > MAX_LISTED) lines.push(`…and ${nodes.length - MAX_LISTED} more (GET /v1/nodes lists them all).`);
	return lines.join("\n");
}

export function pointsText(): string {
	return "The points ledger is not live yet: points for availability and rented work arrive with it, per epoch, with a breakdown for each node. Until then nothing is being withheld — nothing is being counted.";
}

export async function muteCommand(env: Env, account: Account, text: string, now: number): Promise<string> {
	const [target, duration, extra] = args(text);
	if (!target || !duration || extra) return `Usage: ${usageOf("mute")}`;
	const r = await muteAlerts(env, account.id, target, duration, now);
	if (!r.ok) return `${r.reason}\nUsage: ${usageOf("mute")}`;
	return `🔕 Muted ${r.label} for ${formatDuration(r.until - now)} (until ${iso(r.until)?.slice(0, 16).replace("T", " ")} UTC). I will say when the mute ends.`;
}

export async function unmuteCommand(env: Env, account: Account, text: string): Promise<string> {
	const [target, extra] = args(text);
	if (extra) return `Usage: ${usageOf("unmute")}`;
	const r = await unmuteAlerts(env, account.id, target);
	if (!r.ok) return r.reason;
	return r.lifted.length ? `🔔 Unmuted. Anything still offline will be reported in a moment.` : "Nothing was muted.";
}

export async function maintenanceCommand(env: Env, account: Account, text: string): Promise<string> {
	const [ref, onOff, extra] = args(text);
	if (!ref || (onOff !== "on" && onOff !== "off") || extra) return `Usage: ${usageOf("maintenance")}`;
	const found = await findOwnNode(env.DB, account.id, ref);
	if ("error" in found) return found.error;
	const status = await setNodeMaintenance(env, found.node, onOff === "on");
	return onOff === "on"
		? `🛠 ${found.node.name} is in maintenance: no alerts for it until you turn maintenance off.`
		: `${found.node.name} is out of maintenance and ${status}. Alerts for it are back on.`;
}

export async function alertsCommand(env: Env, account: Account, text: string, now: number): Promise<string> {
	const a = args(text);
	const patch: SettingsPatch = {};
	if (a.length === 1 && (a[0] === "on" || a[0] === "off")) patch.alerts = a[0] === "on";
	else if (a.length === 2 && a[0] === "digest" && (a[1] === "on" || a[1] === "off")) patch.digest = a[1] === "on";
	else if (a.length === 2 && a[0] === "digest-hour" && /^\d{1,2}$/.test(a[1] as string) && Number(a[1]) <= 23) patch.digest_hour_utc = Number(a[1]);
	else if (a.length) return `Usage: ${usageOf("alerts")}`;
	const stub = operatorAlerts(env, account.id);
	if (Object.keys(patch).length) {
		const r = await stub.updateSettings(account.id, patch);
		if (!r.ok) return r.reason;
	}
	const v = settingsView(await stub.snapshot(account.id), (await telegramChatsOf(env.DB, account.id)).length, now);
	return [
		Object.keys(patch).length ? "Saved." : "Alert settings:",
		`Alerts: ${v.alerts ? "on" : "off"}`,
		`Daily digest: ${v.digest ? "on" : "off"} (${String(v.digest_hour_utc).padStart(2, "0")}:00 UTC)`,
		`Telegram chats linked: ${v.telegram_chats}`,
		`Discord webhook: ${v.discord_webhook ?? "none (set it with PATCH /v1/alerts/settings)"}`,
		`Mutes: ${v.mutes.length ? v.mutes.map((m) => `${m.target} until ${m.until}`).join(", ") : "none"}`,
		`Change: ${usageOf("alerts")}`,
	].join("\n");
}
