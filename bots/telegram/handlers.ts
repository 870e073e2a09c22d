// What each linked-chat command answers: thin shells over the services the HTTP API uses (nodes, points, maintenance,
// alert settings, mutes). Plain text, no parse mode: every user's text goes in through `oneLine`.
import { formatDuration } from "../../workers/domain/duration.ts";
import { STATUS_ICON, STATUS_LABEL, statusSummary } from "../../workers/domain/node-text.ts";
import { verificationText } from "../../workers/domain/verification.ts";
import { bandwidthText } from "../../workers/domain/bandwidth.ts";
import { TELEGRAM_TEXT_MAX, fitLines, oneLine, percent, plural, tokens } from "../../workers/domain/text.ts";
import { iso } from "../../workers/http.ts";
import type { Account } from "../../workers/services/accounts.ts";
import {
	alertSettings,
	changeAlertSettings,
	findOwnNode,
	muteAlerts,
	operatorAlerts,
	unmuteAlerts,
	type SettingsPatch,
	type SettingsView,
} from "../../workers/services/alerts.ts";
import { setNodeMaintenance } from "../../workers/services/maintenance.ts";
import { accountNodes } from "../../workers/services/node-views.ts";
import { orRefusal } from "../shared/failure.ts";
import { epochPoints } from "../shared/points.ts";
import { usageOf } from "./commands.ts";

/** Nodes listed in one answer; the rest are counted, with where to see them all. */
const MAX_LISTED = 40;
/** Nodes whose points are broken down term by term in /points. */
const DETAILED = 5;

function ago(at: string | null, now: number): string {
	return at === null ? "never" : `${formatDuration(now - Date.parse(at))} ago`;
}

function utc(ms: number | string | null): string {
	return `${(typeof ms === "string" ? ms : (iso(ms) ?? "")).slice(0, 16).replace("T", " ")} UTC`;
}

function args(text: string): string[] {
	return text.trim().split(/\s+/).filter(Boolean);
}

function listed(head: string[], lines: string[], where: string): string {
	return fitLines(head, lines, (left) => `…and ${left} more (${where}).`, {
		maxLines: MAX_LISTED,
		maxChars: TELEGRAM_TEXT_MAX,
	});
}

export async function statusText(env: Env, account: Account, now: number): Promise<string> {
	const [nodes, settings, flapping] = await Promise.all([
		accountNodes(env, account.id, now),
		alertSettings(env, account.id, now),
		operatorAlerts(env, account.id).flapping(),
	]);
	const name = (id: string) => oneLine(id === "all" ? "all nodes" : (nodes.find((n) => n.id === id)?.name ?? id));
	const mutes = settings.mutes.map((m) => `${name(m.target)} until ${m.until?.slice(11, 16)} UTC`);
	const paused = new Set(flapping);
	const head = [
		`${oneLine(account.name)}: ${plural(nodes.length, "node")} — ${statusSummary(nodes)}`,
		`Alerts: ${settings.alerts ? "on" : "off"}${mutes.length ? `; muted: ${mutes.join(", ")}` : ""}`,
	];
	if (paused.size)
		head.push(
			`Flapping (alerts paused until stable): ${nodes
				.filter((n) => paused.has(n.id))
				.map((n) => oneLine(n.name))
				.join(", ")}`,
		);
	const down = nodes.filter((n) => n.status === "offline");
	if (!down.length) return head.join("\n");
	return listed(
		[...head, "Offline:"],
		down.map((n) => `${STATUS_ICON.offline} ${oneLine(n.name)} — last seen ${ago(n.last_seen_at, now)}`),
		"/nodes",
	);
}

export async function nodesText(env: Env, account: Account, now: number): Promise<string> {
	const nodes = await accountNodes(env, account.id, now);
	if (!nodes.length) return "You have no nodes yet. Register one with: npx pulsegrid-agent register";
	return listed(
		[],
		nodes.map(
			(n) =>
				`${STATUS_ICON[n.status]} ${oneLine(n.name)} (${n.id}) — ${STATUS_LABEL[n.status]}, ` +
				`last seen ${ago(n.last_seen_at, now)}, 24 h uptime ${percent(n.uptime_24h)}, ` +
				`${n.hardware.gpu_count}× ${oneLine(n.hardware.gpu_model)} ${verificationText(n.hardware.verification)}, ` +
				bandwidthText(n.hardware.bandwidth),
		),
		"GET /v1/nodes lists them all",
	);
}

/** /points [epoch]: the account's totals in a settled epoch and each node's terms, from the ledger. */
export async function pointsText(env: Env, account: Account, text: string): Promise<string> {
	const [raw, extra] = args(text);
	if (extra || (raw !== undefined && !/^\d{1,9}$/.test(raw))) return `Usage: ${usageOf("points")}`;
	const {
		epoch: e,
		totals,
		details,
		lifetimePoints,
	} = await epochPoints(env.DB, account.id, raw === undefined ? undefined : Number(raw), DETAILED);
	const settled = `Epoch ${e.n} (settled ${utc(e.settled_at)})`;
	if (!totals.nodes) return `${settled}: you had no nodes in it, so no points.`;
	const adj = totals.adjustments ? ` (${totals.adjustments > 0 ? "+" : ""}${totals.adjustments} in adjustments)` : "";
	const head = [
		`${settled}: ${totals.points} points${adj} from ${plural(totals.nodes, "node")}, ` +
			`reward ${tokens(totals.reward)} tokens`,
	];
	const lines = details.map((b) => {
		const t = b.terms;
		const c = b.inputs.challenges;
		return (
			`• ${b.node_id}: ${b.points} points = availability ${t.availability_points} + compute ` +
			`${t.compute_points} − penalty ${t.penalty_points}; online ${b.inputs.online_seconds} s, ` +
			`incident credit ${b.inputs.incident_seconds} s, challenges ${c.passed}/${c.issued} passed`
		);
	});
	const more = totals.nodes - details.length;
	if (more > 0) lines.push(`…and ${plural(more, "more node")}: GET /v1/nodes/<id>/points?epoch=${e.n}`);
	lines.push(
		`Lifetime: ${lifetimePoints} points. The formula: docs/POINTS.md; ` +
			`check a row against the epoch's root with GET /v1/epochs/${e.n}/proof/<node_id>.`,
	);
	return [...head, ...lines].join("\n");
}

export async function muteCommand(env: Env, account: Account, text: string, now: number): Promise<string> {
	const [target, duration, extra] = args(text);
	if (!target || !duration || extra) return `Usage: ${usageOf("mute")}`;
	return orRefusal(
		async () => {
			const r = await muteAlerts(env, account.id, target, duration, now);
			return (
				`🔕 Muted ${oneLine(r.label)} for ${formatDuration(r.until - now)} ` +
				`(until ${utc(r.until)}). I will say when the mute ends.`
			);
		},
		(message) => `${message}\nUsage: ${usageOf("mute")}`,
	);
}

export async function unmuteCommand(env: Env, account: Account, text: string): Promise<string> {
	const [target, extra] = args(text);
	if (extra) return `Usage: ${usageOf("unmute")}`;
	const lifted = await unmuteAlerts(env, account.id, target);
	return lifted.length ? `🔔 Unmuted. Anything still offline will be reported in a moment.` : "Nothing was muted.";
}

export async function maintenanceCommand(env: Env, account: Account, text: string): Promise<string> {
	const [ref, onOff, extra] = args(text);
	if (!ref || (onOff !== "on" && onOff !== "off") || extra) return `Usage: ${usageOf("maintenance")}`;
	const node = await findOwnNode(env.DB, account.id, ref);
	const status = await setNodeMaintenance(env, node, onOff === "on");
	const name = oneLine(node.name);
	return onOff === "on"
		? `🛠 ${name} is in maintenance: no alerts for it until you turn maintenance off.`
		: `${name} is out of maintenance and ${status}. Alerts for it are back on.`;
}

function settingsText(head: string, v: SettingsView): string {
	return [
		head,
		`Alerts: ${v.alerts ? "on" : "off"}`,
		`Daily digest: ${v.digest ? "on" : "off"} (${String(v.digest_hour_utc).padStart(2, "0")}:00 UTC)`,
		`Telegram chats linked: ${v.telegram_chats}`,
		`Discord webhook: ${v.discord_webhook ? oneLine(v.discord_webhook) : "none (set it with PATCH /v1/alerts/settings)"}`,
		`Mutes: ${v.mutes.length ? v.mutes.map((m) => `${oneLine(m.target)} until ${m.until}`).join(", ") : "none"}`,
		`Change: ${usageOf("alerts")}`,
	].join("\n");
}

export async function alertsCommand(env: Env, account: Account, text: string, now: number): Promise<string> {
	const a = args(text);
	const patch: SettingsPatch = {};
	if (a.length === 1 && (a[0] === "on" || a[0] === "off")) patch.alerts = a[0] === "on";
	else if (a.length === 2 && a[0] === "digest" && (a[1] === "on" || a[1] === "off")) patch.digest = a[1] === "on";
	else if (a.length === 2 && a[0] === "digest-hour" && /^\d{1,2}$/.test(a[1] as string) && Number(a[1]) <= 23)
		patch.digest_hour_utc = Number(a[1]);
	else if (a.length) return `Usage: ${usageOf("alerts")}`;
	if (!Object.keys(patch).length) return settingsText("Alert settings:", await alertSettings(env, account.id, now));
	return settingsText("Saved.", await changeAlertSettings(env, account.id, patch, now));
}
