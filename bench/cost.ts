// The liveness cost model: measured billable operations per node-hour and per shard-hour, priced for 1M nodes a month.
import type { LivenessCounters } from "./api.ts";

/** Workers Paid list prices and monthly allowances, from Cloudflare's pricing pages (Workers, Durable Objects, D1). */
export const PRICES = {
	source: "Cloudflare pricing pages (developers.cloudflare.com: workers/platform/pricing, durable-objects/platform/pricing, d1/platform/pricing), Workers Paid plan",
	workersRequests: { usdPerMillion: 0.30, includedPerMonth: 10_000_000 },
	workersCpuMs: { usdPerMillion: 0.02, includedPerMonth: 30_000_000 },
	doRequests: { usdPerMillion: 0.15, includedPerMonth: 1_000_000 },
	doDurationGbS: { usdPerMillion: 12.50, includedPerMonth: 400_000 },
	doRowsWritten: { usdPerMillion: 1.00, includedPerMonth: 50_000_000 },
	doRowsRead: { usdPerMillion: 0.001, includedPerMonth: 25_000_000_000 },
	d1RowsWritten: { usdPerMillion: 1.00, includedPerMonth: 50_000_000 },
	footnotes: {
		autoResponse: "Durable Objects pricing, footnote: \"Application-level auto-response messages handled by state.setWebSocketAutoResponse() will not incur additional wall-clock time, and will not be charged.\"",
		wsMessages: "Durable Objects pricing: incoming WebSocket messages are billed at a 20:1 ratio (100 messages = 5 requests); outgoing messages and protocol pings are free.",
		duration: "Durable Objects pricing: duration is wall-clock time while the object is running or idle but unable to hibernate; objects idle and eligible for hibernation are not billed.",
	},
} as const;

export const DO_MEMORY_GB = 0.128;
export const HOURS_PER_MONTH = 730;

export interface CostInputs {
	/** The steady-state window: all nodes online, no churn. */
	steady: { seconds: number; nodeHours: number; shards: number; counters: LivenessCounters; cpuMs: number };
	/** A window with keepalives paused (shorter than OFFLINE_AFTER_S): coordinator CPU without auto-responses. */
	quiet: { nodeHours: number; cpuMs: number } | null;
	/** Connect phase (plus the settle after it, which holds the deferred token-id prunes). */
	connect: { connects: number; counters: LivenessCounters; cpuMs: number };
	/** Churn: the soak's disconnects, with the steady-state share of its counters removed. */
	disconnect: { disconnects: number; doRows: number; d1Rows: number };
	settings: { sweepIntervalS: number; heartbeatIntervalS: number };
	model: { nodes: number; nodesPerShard: number; reconnectsPerNodePerDay: number; keepaliveS: number };
}

export interface CostLine {
	kind: string;
	monthlyQuantity: number;
	unit: string;
	included: number;
	usdPerMillion: number;
	monthlyUsd: number;
	arithmetic: string;
	measured: "counters" | "cpu" | "modelled-from-code" | "settings";
}

export interface CostModel {
	perNodeHour: Record<string, { value: number; unit: string; how: string }>;
	perShardHour: Record<string, { value: number; unit: string; how: string }>;
	perConnect: Record<string, number>;
	perDisconnect: Record<string, number>;
	assumptions: string[];
	lines: CostLine[];
	totalUsd: number;
	totalUsdAllCpu: number;
	totalUsdMeasuredKindsOnly: number;
}

const fmt = (x: number, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const usd = (x: number) => `$${fmt(x, 2)}`;

function price(kind: string, qty: number, unit: string, p: { usdPerMillion: number; includedPerMonth: number }, arithmetic: string, measured: CostLine["measured"]): CostLine {
	const billable = Math.max(0, qty - p.includedPerMonth);
	const monthlyUsd = (billable / 1e6) * p.usdPerMillion;
	return {
		kind, monthlyQuantity: qty, unit, included: p.includedPerMonth, usdPerMillion: p.usdPerMillion, monthlyUsd, measured,
		arithmetic: `${arithmetic} = ${fmt(qty)} ${unit}; (${fmt(qty)} − ${fmt(p.includedPerMonth)} included) × $${p.usdPerMillion}/M = ${usd(monthlyUsd)}`,
	};
}

export function costModel(i: CostInputs): CostModel {
	const { steady, model } = i;
	const c = steady.counters;
	const nh = steady.nodeHours;
	const shardHours = (steady.shards * steady.seconds) / 3600;
	const sweepsPerHour = 3600 / i.settings.sweepIntervalS;
	const cpuPerNodeHour = steady.cpuMs / nh;
	const quietCpuPerNodeHour = i.quiet ? i.quiet.cpuMs / i.quiet.nodeHours : cpuPerNodeHour;
	const connects = Math.max(1, i.connect.connects);
	const perConnect = {
		doRowsWritten: i.connect.counters.rowsWrittenDO / connects,
		d1RowsWritten: i.connect.counters.rowsWrittenD1 / connects,
		coordinatorCpuMs: i.connect.cpuMs / connects,
	};
	const disconnects = Math.max(1, i.disconnect.disconnects);
	const perDisconnect = { doRowsWritten: Math.max(0, i.disconnect.doRows / disconnects), d1RowsWritten: i.disconnect.d1Rows / disconnects };

	const perNodeHour = {
		workerRequests: { value: (c.connects + c.heartbeats) / nh, unit: "requests/node-hour", how: "(connects + HTTP heartbeats) in the steady window ÷ node-hours" },
		wsMessagesIn: { value: c.messagesIn / nh, unit: "messages/node-hour", how: "messagesIn counter ÷ node-hours (challenge answers; keepalives never reach the object)" },
		doRequests: { value: (c.connects + c.heartbeats + c.alarms + c.messagesIn / 20) / nh, unit: "requests/node-hour", how: "(connects + heartbeat RPCs + alarms + messagesIn ÷ 20) ÷ node-hours" },
		doRowsWritten: { value: c.rowsWrittenDO / nh, unit: "rows/node-hour", how: "rowsWrittenDO counter ÷ node-hours (SQL rows; setAlarm writes not included)" },
		d1RowsWritten: { value: c.rowsWrittenD1 / nh, unit: "rows/node-hour", how: "rowsWrittenD1 counter ÷ node-hours" },
		coordinatorCpuMs: { value: cpuPerNodeHour, unit: "CPU-ms/node-hour", how: "utime+stime of the wrangler/workerd process tree ÷ node-hours" },
		coordinatorCpuMsNoKeepalive: { value: quietCpuPerNodeHour, unit: "CPU-ms/node-hour", how: "same, in a window with keepalives paused (auto-responses excluded)" },
	};
	const perShardHour = {
		alarms: { value: c.alarms / shardHours, unit: "alarms/shard-hour", how: "alarms counter ÷ (shards × hours)" },
		doRowsWritten: { value: c.rowsWrittenDO / shardHours, unit: "rows/shard-hour", how: "rowsWrittenDO ÷ (shards × hours): checkpoints are per shard" },
	};

	const N = model.nodes;
	const S = Math.ceil(N / model.nodesPerShard);
	const H = HOURS_PER_MONTH;
	const nodeHoursMonth = N * H;
	const R = N * model.reconnectsPerNodePerDay * (H / 24);
	const alarmsMonth = perShardHour.alarms.value * S * H;
	const cronWakes = S * 60 * H;
	const assumptions = [
		`${fmt(N)} nodes, ${fmt(H)} h/month → ${fmt(nodeHoursMonth)} node-hours.`,
		`Shards scale with the fleet: ${fmt(model.nodesPerShard)} nodes per shard → S = ${fmt(S)} shards (16 shards of 62,500 would each sweep too many sockets per alarm); per-shard costs (alarms, checkpoints) scale with S × hours.`,
		`Keepalive every ${model.keepaliveS} s: keepalives are answered by setWebSocketAutoResponse, which the Durable Objects pricing footnote says "will not incur additional wall-clock time, and will not be charged", so the keepalive rate does not enter the bill (the bench ran the default ${i.settings.heartbeatIntervalS} s).`,
		`Churn: each node reconnects ${model.reconnectsPerNodePerDay}×/day (operators restart daily, DESIGN §1) → ${fmt(R)} connects and as many disconnects a month, each priced with the per-connect and per-disconnect costs measured here.`,
		"The cron (every minute) is 1 Worker request plus one wake() RPC per shard.",
		"DO duration is bounded by coordinator CPU time × 128 MB: conservative, since the local figure includes workerd's networking, the Worker, D1 and wrangler; the real bill is wall-clock of active handlers only, and idle hibernatable shards are not billed. Handler wall-clock can exceed CPU when a handler awaits D1 (flip writes), which happens only on churn.",
		"Each alarm also writes its next alarm (setAlarm): counted as one DO row written per alarm.",
		"DO rows read have no counter; they are modelled from the code: the sweep reads each live node's row once (issueChallenges → store.node()), i.e. one row per node per sweep.",
		"Included allowances are applied once, as if liveness were the account's only use; the $5/month Workers Paid subscription is not counted.",
	];

	const workerReqMonth = perNodeHour.workerRequests.value * nodeHoursMonth + R + 60 * H;
	const lines: CostLine[] = [];
	lines.push(price("Workers requests", workerReqMonth, "requests", PRICES.workersRequests,
		`steady ${fmt(perNodeHour.workerRequests.value, 4)}/node-hour × ${fmt(nodeHoursMonth)} + reconnect upgrades ${fmt(R)} + cron ${fmt(60 * H)}`, "counters"));
	const workerCpu = R * perConnect.coordinatorCpuMs;
	lines.push(price("Workers CPU", workerCpu, "CPU-ms", PRICES.workersCpuMs,
		`${fmt(R)} upgrades × ${fmt(perConnect.coordinatorCpuMs, 2)} CPU-ms (whole coordinator's CPU per connect, an upper bound)`, "cpu"));
	const msgReq = (perNodeHour.wsMessagesIn.value * nodeHoursMonth) / 20;
	const doReq = alarmsMonth + cronWakes + 2 * R + msgReq + (c.heartbeats / nh) * nodeHoursMonth;
	lines.push(price("DO requests", doReq, "requests", PRICES.doRequests,
		`alarms ${fmt(perShardHour.alarms.value, 1)}/shard-hour × ${fmt(S)} × ${fmt(H)} (${fmt(alarmsMonth)}) + cron wakes ${fmt(S)} × 60 × ${fmt(H)} (${fmt(cronWakes)}) + connects and closes 2 × ${fmt(R)} + messages ${fmt(perNodeHour.wsMessagesIn.value, 2)}/node-hour × ${fmt(nodeHoursMonth)} ÷ 20 (${fmt(msgReq)})`, "counters"));
	const gbS = (cpu: number) => (cpu * nodeHoursMonth / 1000) * DO_MEMORY_GB;
	const durationLine = price("DO duration", gbS(quietCpuPerNodeHour), "GB-s", PRICES.doDurationGbS,
		`${fmt(quietCpuPerNodeHour, 2)} CPU-ms/node-hour (keepalives paused) × ${fmt(nodeHoursMonth)} ÷ 1000 × 0.128 GB`, "cpu");
	lines.push(durationLine);
	const allCpuDuration = price("DO duration (all coordinator CPU)", gbS(cpuPerNodeHour), "GB-s", PRICES.doDurationGbS,
		`${fmt(cpuPerNodeHour, 2)} CPU-ms/node-hour (with ${i.settings.heartbeatIntervalS} s keepalives) × ${fmt(nodeHoursMonth)} ÷ 1000 × 0.128 GB`, "cpu");
	const doRows = perShardHour.doRowsWritten.value * S * H + alarmsMonth + R * (perConnect.doRowsWritten + perDisconnect.doRowsWritten);
	lines.push(price("DO SQLite rows written", doRows, "rows", PRICES.doRowsWritten,
		`checkpoints ${fmt(perShardHour.doRowsWritten.value, 1)}/shard-hour × ${fmt(S)} × ${fmt(H)} + setAlarm ${fmt(alarmsMonth)} + ${fmt(R)} × (${fmt(perConnect.doRowsWritten, 2)} per connect + ${fmt(perDisconnect.doRowsWritten, 2)} per disconnect)`, "counters"));
	const d1Rows = perNodeHour.d1RowsWritten.value * nodeHoursMonth + R * (perConnect.d1RowsWritten + perDisconnect.d1RowsWritten);
	lines.push(price("D1 rows written", d1Rows, "rows", PRICES.d1RowsWritten,
		`steady ${fmt(perNodeHour.d1RowsWritten.value, 4)}/node-hour × ${fmt(nodeHoursMonth)} + ${fmt(R)} × (${fmt(perConnect.d1RowsWritten, 2)} per connect + ${fmt(perDisconnect.d1RowsWritten, 2)} per disconnect)`, "counters"));
	const rowsRead = nodeHoursMonth * sweepsPerHour;
	lines.push(price("DO SQLite rows read", rowsRead, "rows", PRICES.doRowsRead,
		`1 row per live node per sweep × ${fmt(sweepsPerHour)} sweeps/h × ${fmt(nodeHoursMonth)} node-hours`, "modelled-from-code"));

	const totalUsd = lines.reduce((s, l) => s + l.monthlyUsd, 0);
	return {
		perNodeHour, perShardHour, perConnect, perDisconnect, assumptions, lines, totalUsd,
		totalUsdAllCpu: totalUsd - durationLine.monthlyUsd + allCpuDuration.monthlyUsd,
		totalUsdMeasuredKindsOnly: totalUsd - lines.filter((l) => l.measured === "modelled-from-code").reduce((s, l) => s + l.monthlyUsd, 0),
	};
}

export { fmt, usd };
