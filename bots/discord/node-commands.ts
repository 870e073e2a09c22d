// /status and /node: the same node views GET /v1/nodes and GET /v1/nodes/:id return, written for a chat window.
import { STATUS_ICON, statusSummary } from "../../workers/domain/node-text.ts";
import { escapeDiscord as md, percent, plural } from "../../workers/domain/text.ts";
import { verificationText } from "../../workers/domain/verification.ts";
import { bandwidthText } from "../../workers/domain/bandwidth.ts";
import { code } from "../../workers/domain/ticket-text.ts";
import {
	accountNodes,
	isOwnerView,
	nodeViews,
	type OwnerNodeView,
	type PublicNodeView,
} from "../../workers/services/node-views.ts";
import { byId as nodeById } from "../../workers/db/nodes.ts";
import { needAccount, text, type CommandContext } from "./context.ts";
import { fitLines, when } from "./format.ts";

type View = PublicNodeView | OwnerNodeView;

export function statusLine(v: View): string {
	const head = `${STATUS_ICON[v.status]} **${md(v.name)}** ${code(v.id)}`;
	switch (v.status) {
		case "offline":
			return `${head} — offline since ${when(v.status_since)}, last seen ${when(v.last_seen_at)}`;
		case "maintenance":
			return `${head} — in maintenance since ${when(v.status_since)}`;
		case "new":
			return `${head} — never connected (registered ${when(v.created_at)})`;
		case "online":
			return `${head} — online since ${when(v.status_since)}, 24 h uptime ${percent(v.uptime_24h)}`;
	}
}

export async function statusCommand(c: CommandContext): Promise<string> {
	const account = needAccount(c);
	const views = await accountNodes(c.env, account.id, c.now);
	if (!views.length) return "You have no nodes yet. Register one with `npx pulsegrid-agent register --api-key pgk_…`.";
	return fitLines(
		[`**${md(account.name)}** — ${plural(views.length, "node")}: ${statusSummary(views, " · ")}`, ""],
		views.map(statusLine),
		(left) => `…and ${left} more (\`GET /v1/nodes\` lists them all).`,
	);
}

export async function nodeCommand(c: CommandContext): Promise<string> {
	const id = text(c, "id") as string;
	const row = await nodeById(c.env.DB, id);
	if (!row) return `No node ${code(id)}. Node ids look like \`node_…\`; \`/status\` lists yours.`;
	const [v] = await nodeViews(c.env, [row], c.account?.id ?? null, c.now);
	if (!v) return `No node ${code(id)}.`;
	const lines = [
		statusLine(v),
		`Last seen ${when(v.last_seen_at)}${v.status === "online" ? "" : ` · 24 h uptime ${percent(v.uptime_24h)}`} ` +
			`· registered ${when(v.created_at)}${v.region ? ` · region ${md(v.region)}` : ""}`,
		`Hardware (claimed, ${verificationText(v.hardware.verification)}): ` +
			`${v.hardware.gpu_count}× ${md(v.hardware.gpu_model)}, ${v.hardware.vram_gb} GB VRAM`,
		`📶 ${bandwidthText(v.hardware.bandwidth)}`,
	];
	if (v.challenges)
		lines.push(
			`Challenges this epoch: ${v.challenges.issued} issued, ${v.challenges.passed} passed, ` +
				`${v.challenges.failed} failed, ${v.challenges.missed} missed`,
		);
	for (const f of v.flags)
		lines.push(
			`🚩 **${md(f.code)}** (−${Math.round(f.share * 100)}% points) since ${when(f.created_at)}: ` +
				`${md(f.reason)} — appeal with \`/ticket open\``,
		);
	if (isOwnerView(v))
		lines.push(
			`Yours · maintenance ${v.maintenance ? "on" : "off"} · shard ${code(v.shard)} · points: \`/points node:${v.id}\``,
		);
	return lines.join("\n");
}
