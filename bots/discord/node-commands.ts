// /status and /node: the same node views GET /v1/nodes and GET /v1/nodes/:id return, written for a chat window.
import { getNodeRow, listNodeRows } from "../../workers/services/nodes.ts";
import { isOwnerView, nodeViews, type OwnerNodeView, type PublicNodeView } from "../../workers/services/node-views.ts";
import { needAccount, text, type CommandContext } from "./context.ts";
import { fitLines, percent, when } from "./format.ts";
import { code } from "./staff-posts.ts";

const ICON = { offline: "🔴", maintenance: "🛠️", new: "⚪", online: "🟢" } as const;
const RANK = { offline: 0, maintenance: 1, new: 2, online: 3 } as const;

type View = PublicNodeView | OwnerNodeView;

/** Worst first: offline (longest offline first), then maintenance, never connected, and online (lowest uptime first). */
export function worstFirst<V extends Pick<View, "status" | "status_since" | "uptime_24h" | "name">>(views: V[]): V[] {
	return [...views].sort((a, b) =>
		RANK[a.status] - RANK[b.status]
		|| (a.status === "online" ? a.uptime_24h - b.uptime_24h : Date.parse(a.status_since ?? "") - Date.parse(b.status_since ?? ""))
		|| a.name.localeCompare(b.name));
}

export function statusLine(v: View): string {
	const head = `${ICON[v.status]} **${v.name}** ${code(v.id)}`;
	switch (v.status) {
		case "offline": return `${head} — offline since ${when(v.status_since)}, last seen ${when(v.last_seen_at)}`;
		case "maintenance": return `${head} — in maintenance since ${when(v.status_since)}`;
		case "new": return `${head} — never connected (registered ${when(v.created_at)})`;
		case "online": return `${head} — online since ${when(v.status_since)}, 24 h uptime ${percent(v.uptime_24h)}`;
	}
}

export async function statusCommand(c: CommandContext): Promise<string> {
	const account = needAccount(c);
	const rows = await listNodeRows(c.env.DB, account.id);
	if (!rows.length) return "You have no nodes yet. Register one with `npx pulsegrid-agent register --api-key pgk_…`.";
	const views = worstFirst(await nodeViews(c.env, rows, account.id, c.now));
	const n = (s: View["status"]) => views.filter((v) => v.status === s).length;
	return fitLines(
		[`**${account.name}** — ${views.length} node${views.length === 1 ? "" : "s"}: ${n("online")} online · ${n("offline")} offline · ${n("maintenance")} in maintenance · ${n("new")} never connected`, ""],
		views.map(statusLine),
		(left) => `…and ${left} more (\`GET /v1/nodes\` lists them all).`,
	);
}

export async function nodeCommand(c: CommandContext): Promise<string> {
	const id = text(c, "id") as string;
	const row = await getNodeRow(c.env.DB, id);
	if (!row) return `No node ${code(id)}. Node ids look like \`node_…\`; \`/status\` lists yours.`;
	const [v] = await nodeViews(c.env, [row], c.account?.id ?? null, c.now);
	if (!v) return `No node ${code(id)}.`;
	const lines = [
		statusLine(v),
		`Last seen ${when(v.last_seen_at)}${v.status === "online" ? "" : ` · 24 h uptime ${percent(v.uptime_24h)}`} · registered ${when(v.created_at)}${v.region ? ` · region ${v.region}` : ""}`,
		`Hardware (claimed${v.hardware.verified ? ", verified" : ", not yet verified"}): ${v.hardware.gpu_count}× ${v.hardware.gpu_model}, ${v.hardware.vram_gb} GB VRAM`,
	];
	if (v.challenges) lines.push(`Challenges this epoch: ${v.challenges.issued} issued, ${v.challenges.passed} passed, ${v.challenges.failed} failed, ${v.challenges.missed} missed`);
	for (const f of v.flags) lines.push(`🚩 **${f.code}** (−${Math.round(f.share * 100)}% points) since ${when(f.created_at)}: ${f.reason} — appeal with \`/ticket open\``);
	if (isOwnerView(v)) lines.push(`Yours · maintenance ${v.maintenance ? "on" : "off"} · shard ${code(v.shard)} · points: \`/points node:${v.id}\``);
	return lines.join("\n");
}
