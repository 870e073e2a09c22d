// The daily digest of one operator: nodes by status, 24 h uptime and drops, points from the ledger, active flags, open
// tickets.
import { MAX_TEXT } from "../domain/alert-text.ts";
import { statusSummary } from "../domain/node-text.ts";
import { clip, fitLines, oneLine, percent, plural, tokens } from "../domain/text.ts";
import { dropsSince } from "../db/flips.ts";
import { accountSettledSince } from "../db/ledger.ts";
import { accountNodes } from "./node-views.ts";
import { DAY_MS } from "./uptime.ts";
import { openTicketCount } from "./tickets.ts";

/** Nodes named in the digest for low uptime or drops. */
const WORST_LISTED = 5;

/** The next time (ms) the digest is due at `hourUtc`, strictly after `now`. */
export function nextDigestAt(hourUtc: number, now: number): number {
	const day = Math.floor(now / DAY_MS) * DAY_MS;
	const today = day + hourUtc * 3_600_000;
	return today > now ? today : today + DAY_MS;
}

export async function buildDigest(env: Env, accountId: string, now: number): Promise<string> {
	const nodes = await accountNodes(env, accountId, now);
	const [drops, points, tickets] = await Promise.all([
		// Drops not counting our own incidents; points as /v1/stats defines "the last 24 h" (settled epochs that ended in
		// it).
		dropsSince(
			env.DB,
			nodes.map((n) => n.id),
			now - DAY_MS,
		),
		accountSettledSince(env.DB, accountId, now - DAY_MS),
		openTicketCount(env.DB, accountId),
	]);
	const more = (left: number) => `…and ${left} more (GET /v1/nodes)`;
	const parts = [
		`📋 Daily digest — ${new Date(now).toISOString().slice(0, 10)}\nNodes: ${nodes.length} (${statusSummary(nodes)})`,
	];
	if (nodes.length) {
		const avg = nodes.reduce((s, n) => s + n.uptime_24h, 0) / nodes.length;
		const total = [...drops.values()].reduce((s, n) => s + n, 0);
		const worst = nodes
			.map((n) => ({ name: oneLine(n.name), u: n.uptime_24h, drops: drops.get(n.id) ?? 0 }))
			.filter((x) => x.u < 1 || x.drops > 0)
			.sort((a, b) => a.u - b.u || b.drops - a.drops)
			.map((w) => `• ${w.name}: ${percent(w.u)}${w.drops ? `, ${plural(w.drops, "drop")}` : ""}`);
		parts.push(
			fitLines(
				[`Uptime, last 24 h: ${percent(avg)} on average; ${plural(total, "drop")} (coordinator incidents not counted)`],
				worst,
				more,
				{ maxLines: WORST_LISTED },
			),
		);
	}
	parts.push(
		points.epochs
			? `Points, last 24 h: ${points.points} in ${plural(points.epochs, "settled epoch")}, ` +
					`reward ${tokens(points.reward)} tokens (GET /v1/points)`
			: "Points, last 24 h: no epoch was settled.",
	);
	const flags = nodes.flatMap((n) =>
		n.flags.map(
			(f) => `• ${oneLine(n.name)}: ${f.code} (−${Math.round(f.share * 100)}% points) — ${oneLine(f.reason)}`,
		),
	);
	parts.push(
		fitLines(
			[`Flags: ${flags.length ? `${flags.length} active (appeal with a support ticket)` : "none"}`],
			flags,
			more,
			{ maxLines: WORST_LISTED },
		),
	);
	parts.push(`Open support tickets: ${tickets}`, "Turn this off with /alerts digest off.");
	return clip(parts.join("\n"), MAX_TEXT);
}
