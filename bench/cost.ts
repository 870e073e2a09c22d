// The liveness cost model: measured billable operations per node-hour and per shard-hour, priced for 1M nodes a month,
// as table figures.
import type { LivenessCounters } from "./api.ts";
import type { Figure } from "./report.ts";

/** Workers Paid list prices and monthly allowances, from Cloudflare's pricing pages (Workers, Durable Objects, D1). */
export const PRICES = {
	source:
		"Cloudflare pricing pages (developers.cloudflare.com: workers/platform/pricing, " +
		"durable-objects/platform/pricing, d1/platform/pricing), Workers Paid plan",
	workersRequests: { usdPerMillion: 0.3, includedPerMonth: 10_000_000 },
	workersCpuMs: { usdPerMillion: 0.02, includedPerMonth: 30_000_000 },
	doRequests: { usdPerMillion: 0.15, includedPerMonth: 1_000_000 },
	doDurationGbS: { usdPerMillion: 12.5, includedPerMonth: 400_000 },
	doRowsWritten: { usdPerMillion: 1.0, includedPerMonth: 50_000_000 },
	doRowsRead: { usdPerMillion: 0.001, includedPerMonth: 25_000_000_000 },
	d1RowsWritten: { usdPerMillion: 1.0, includedPerMonth: 50_000_000 },
	d1RowsRead: { usdPerMillion: 0.001, includedPerMonth: 25_000_000_000 },
	footnotes: {
		autoResponse:
			'Durable Objects pricing, footnote: "Application-level auto-response messages handled by ' +
			'state.setWebSocketAutoResponse() will not incur additional wall-clock time, and will not be charged."',
		wsMessages:
			"Durable Objects pricing: incoming WebSocket messages are billed at a 20:1 ratio " +
			"(100 messages = 5 requests); outgoing messages and protocol pings are free.",
		duration:
			"Durable Objects pricing: duration is wall-clock time while the object is running or " +
			"idle but unable to hibernate; objects idle and eligible for hibernation are not billed.",
	},
} as const;

export const DO_MEMORY_GB = 0.128;
export const HOURS_PER_MONTH = 730;

export interface CostInputs {
	/** The steady-state window: all nodes online, no churn. */
	steady: {
		seconds: number;
		nodeHours: number;
		shards: number;
		counters: LivenessCounters;
		cpuMs: number;
		rowsReadCounted: boolean;
	};
	/**
	 * Windows with keepalives paused (each shorter than OFFLINE_AFTER_S): coordinator CPU without auto-responses, idle
	 * baseline removed.
	 */
	quiet: { nodeHours: number; cpuMs: number } | null;
	/** Measured per connect (connect phase + settle, steady checkpoint share removed) and per disconnect (soak). */
	perConnect: { doRowsWritten: number; d1RowsWritten: number; coordinatorCpuMs: number };
	perDisconnect: { doRowsWritten: number; d1RowsWritten: number };
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
	measured: "counters" | "cpu" | "modelled-from-code";
}

export interface Scenario {
	reconnectsPerMonth: number;
	lines: CostLine[];
	totalUsd: number;
}

export interface CostModel {
	perConnect: CostInputs["perConnect"];
	perDisconnect: CostInputs["perDisconnect"];
	perNodeHour: Record<string, { value: number; unit: string; how: string }>;
	perShardHour: Record<string, { value: number; unit: string; how: string }>;
	shardsAtModel: number;
	assumptions: string[];
	steady: Scenario;
	withChurn: Scenario;
	/** DO duration priced from all coordinator CPU (keepalive handling included): the loosest bound. */
	durationAllCpu: CostLine;
}

const fmt = (x: number, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const usd = (x: number) => `$${fmt(x, 2)}`;

function price(
	kind: string,
	qty: number,
	unit: string,
	p: { usdPerMillion: number; includedPerMonth: number },
	arithmetic: string,
	measured: CostLine["measured"],
): CostLine {
	const billable = Math.max(0, qty - p.includedPerMonth);
	const monthlyUsd = (billable / 1e6) * p.usdPerMillion;
	return {
		kind,
		monthlyQuantity: qty,
		unit,
		included: p.includedPerMonth,
		usdPerMillion: p.usdPerMillion,
		monthlyUsd,
		measured,
		arithmetic:
			`${arithmetic} = ${fmt(qty)} ${unit}; ` +
			`(${fmt(qty)} − ${fmt(p.includedPerMonth)} included) × $${p.usdPerMillion}/M = ${usd(monthlyUsd)}`,
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

	const perNodeHour = {
		workerRequests: {
			value: (c.connects + c.heartbeats) / nh,
			unit: "requests/node-hour",
			how: "(connects + HTTP heartbeats) in the steady window ÷ node-hours",
		},
		wsMessagesIn: {
			value: c.messagesIn / nh,
			unit: "messages/node-hour",
			how: "messagesIn ÷ node-hours (challenge answers; keepalives never reach the object)",
		},
		doRequests: {
			value: (c.connects + c.heartbeats + c.alarms + c.messagesIn / 20) / nh,
			unit: "requests/node-hour",
			how: "(connects + heartbeat RPCs + alarms + messagesIn ÷ 20) ÷ node-hours, at this bench's nodes per shard",
		},
		doRowsRead: {
			value: c.rowsReadDO / nh,
			unit: "rows/node-hour",
			how: steady.rowsReadCounted
				? "rowsReadDO ÷ node-hours"
				: "no rowsReadDO counter in this coordinator: 0 here, modelled below",
		},
		doRowsWrittenEvents: {
			value: c.rowsWrittenDO / nh,
			unit: "rows/node-hour",
			how: "rowsWrittenDO (event writes) ÷ node-hours",
		},
		d1RowsWritten: { value: c.rowsWrittenD1 / nh, unit: "rows/node-hour", how: "rowsWrittenD1 ÷ node-hours" },
		coordinatorCpuMs: {
			value: cpuPerNodeHour,
			unit: "CPU-ms/node-hour",
			how: "utime+stime of the wrangler/workerd process tree ÷ node-hours",
		},
		coordinatorCpuMsNoKeepalive: {
			value: quietCpuPerNodeHour,
			unit: "CPU-ms/node-hour",
			how: i.quiet
				? "same, with keepalives paused (no auto-responses) and the idle coordinator's CPU removed"
				: "no paused window in this run: same as above",
		},
	};
	const perShardHour = {
		alarms: { value: c.alarms / shardHours, unit: "alarms/shard-hour", how: "alarms ÷ (shards × hours)" },
		doRowsWrittenCheckpoint: {
			value: c.rowsWrittenCheckpoint / shardHours,
			unit: "rows/shard-hour",
			how: "rowsWrittenCheckpoint ÷ (shards × hours): checkpoints are per shard",
		},
	};

	const N = model.nodes;
	const S = Math.ceil(N / model.nodesPerShard);
	const H = HOURS_PER_MONTH;
	const NH = N * H;
	const alarmsMonth = perShardHour.alarms.value * S * H;
	const cronWakes = S * 60 * H;
	const gbS = (cpu: number) => ((cpu * NH) / 1000) * DO_MEMORY_GB;

	const scenario = (R: number): Scenario => {
		const churn = (what: string) => (R > 0 ? ` + reconnects ${fmt(R)} × ${what}` : "");
		const lines: CostLine[] = [];
		lines.push(
			price(
				"Workers requests",
				perNodeHour.workerRequests.value * NH + R + 60 * H,
				"requests",
				PRICES.workersRequests,
				`steady ${fmt(perNodeHour.workerRequests.value, 4)}/node-hour × ` +
					`${fmt(NH)} + cron 60 × ${fmt(H)}${churn("1 upgrade")}`,
				"counters",
			),
		);
		lines.push(
			price(
				"Workers CPU",
				R * i.perConnect.coordinatorCpuMs,
				"CPU-ms",
				PRICES.workersCpuMs,
				R > 0
					? `${fmt(R)} upgrades × ${fmt(i.perConnect.coordinatorCpuMs, 2)} CPU-ms ` +
							`(the whole coordinator's CPU per connect: an upper bound)`
					: "no upgrades without reconnects",
				"cpu",
			),
		);
		const msgReq = (perNodeHour.wsMessagesIn.value * NH) / 20;
		const beatReq = (c.heartbeats / nh) * NH;
		lines.push(
			price(
				"DO requests",
				alarmsMonth + cronWakes + msgReq + beatReq + 2 * R,
				"requests",
				PRICES.doRequests,
				`alarms ${fmt(perShardHour.alarms.value, 1)}/shard-hour × ${fmt(S)} shards × ` +
					`${fmt(H)} h (${fmt(alarmsMonth)}) + cron wakes ${fmt(S)} × 60 × ${fmt(H)} ` +
					`(${fmt(cronWakes)}) + WebSocket messages ${fmt(perNodeHour.wsMessagesIn.value, 2)}/` +
					`node-hour × ${fmt(NH)} ÷ 20 (${fmt(msgReq)})${churn("2 (connect + close)")}`,
				"counters",
			),
		);
		lines.push(
			price(
				"DO duration",
				gbS(quietCpuPerNodeHour),
				"GB-s",
				PRICES.doDurationGbS,
				`${fmt(quietCpuPerNodeHour, 2)} ` +
					`CPU-ms/node-hour${i.quiet ? " (keepalives paused, idle baseline removed)" : ""} × ` +
					`${fmt(NH)} node-hours ÷ 1000 × 0.128 GB`,
				"cpu",
			),
		);
		const ckpt = perShardHour.doRowsWrittenCheckpoint.value * S * H;
		const events = perNodeHour.doRowsWrittenEvents.value * NH;
		const perCycleDo = i.perConnect.doRowsWritten + i.perDisconnect.doRowsWritten;
		lines.push(
			price(
				"DO SQLite rows written",
				ckpt + events + alarmsMonth + R * perCycleDo,
				"rows",
				PRICES.doRowsWritten,
				`checkpoints ${fmt(perShardHour.doRowsWrittenCheckpoint.value, 1)}/shard-hour × ` +
					`${fmt(S)} × ${fmt(H)} (${fmt(ckpt)}) + events ${fmt(perNodeHour.doRowsWrittenEvents.value, 4)}/` +
					`node-hour × ${fmt(NH)} + setAlarm 1 per alarm (${fmt(alarmsMonth)})` +
					churn(
						`(${fmt(i.perConnect.doRowsWritten, 2)} per connect + ${fmt(i.perDisconnect.doRowsWritten, 2)} per disconnect)`,
					),
				"counters",
			),
		);
		// Measured when the shards count rows read (rowsReadDO); modelled from the code otherwise.
		const readPerNodeHour = c.rowsReadDO / nh;
		lines.push(
			steady.rowsReadCounted
				? price(
						"DO SQLite rows read",
						readPerNodeHour * NH,
						"rows",
						PRICES.doRowsRead,
						`${fmt(readPerNodeHour, 2)}/node-hour (rowsReadDO) × ${fmt(NH)} node-hours`,
						"counters",
					)
				: price(
						"DO SQLite rows read",
						NH * sweepsPerHour + alarmsMonth,
						"rows",
						PRICES.doRowsRead,
						`1 node row per live node per sweep × ${fmt(sweepsPerHour)} ` +
							`sweeps/h × ${fmt(NH)} node-hours + 1 meta row per alarm`,
						"modelled-from-code",
					),
		);
		const perCycleD1 = i.perConnect.d1RowsWritten + i.perDisconnect.d1RowsWritten;
		lines.push(
			price(
				"D1 rows written",
				perNodeHour.d1RowsWritten.value * NH + R * perCycleD1,
				"rows",
				PRICES.d1RowsWritten,
				`steady ${fmt(perNodeHour.d1RowsWritten.value, 4)}/node-hour × ${fmt(NH)}` +
					churn(
						`(${fmt(i.perConnect.d1RowsWritten, 2)} per connect + ${fmt(i.perDisconnect.d1RowsWritten, 2)} per disconnect)`,
					),
				"counters",
			),
		);
		return { reconnectsPerMonth: R, lines, totalUsd: lines.reduce((sum, l) => sum + l.monthlyUsd, 0) };
	};

	const R = N * model.reconnectsPerNodePerDay * (H / 24);
	const assumptions = [
		`${fmt(N)} nodes × ${fmt(H)} h/month = ${fmt(NH)} node-hours.`,
		`Shards scale with the fleet: ${fmt(model.nodesPerShard)} nodes per shard → ` +
			`${fmt(S)} shards (16 shards would hold 62,500 sockets each, too many for one object's sweep); ` +
			`alarms and checkpoints scale with shards × hours.`,
		`Keepalive every ${model.keepaliveS} s. Keepalives are answered by setWebSocketAutoResponse; ` +
			`Cloudflare's Durable Objects pricing footnote: "Application-level auto-response messages handled by ` +
			`state.setWebSocketAutoResponse() will not incur additional wall-clock time, and will not be charged." ` +
			`So the keepalive rate is not in the bill (the bench ran the default ${i.settings.heartbeatIntervalS} s).`,
		"Incoming WebSocket messages (challenge answers, ~4 per node-hour) count as DO requests at 20:1.",
		`Steady state has no reconnects. The churn scenario adds ${model.reconnectsPerNodePerDay} ` +
			`reconnect per node per day (operators restart daily, DESIGN §1) = ${fmt(R)} connects and ` +
			`as many disconnects a month, each with the per-connect and per-disconnect writes measured here.`,
		"The cron (every minute) is 1 Worker request plus one wake() RPC per shard.",
		"DO duration ≈ coordinator CPU time × 128 MB, measured with keepalives paused " +
			"(auto-responses are not billed) and the idle coordinator's own CPU removed. Still conservative: " +
			"that CPU includes workerd's socket handling, D1 and wrangler, " +
			"while the bill is wall-clock of running handlers only, and idle hibernatable shards are not billed. " +
			"(A handler awaiting D1 bills wall-clock beyond its CPU: only flip writes do, i.e. churn, not counted here.)",
		"Each alarm writes its next alarm (setAlarm): counted as one DO row written per alarm.",
		steady.rowsReadCounted
			? "DO rows read come from the shards' rowsReadDO counter."
			: "DO rows read have no counter: modelled from the code " +
				"(the sweep's issueChallenges reads every live node's row, store.node(), once per sweep).",
		"Included allowances are applied once, as if liveness were the account's only use; " +
			"the $5/month Workers Paid subscription is not counted.",
	];
	return {
		perConnect: i.perConnect,
		perDisconnect: i.perDisconnect,
		perNodeHour,
		perShardHour,
		shardsAtModel: S,
		assumptions,
		steady: scenario(0),
		withChurn: scenario(R),
		durationAllCpu: price(
			"DO duration (all coordinator CPU)",
			gbS(cpuPerNodeHour),
			"GB-s",
			PRICES.doDurationGbS,
			`${fmt(cpuPerNodeHour, 2)} CPU-ms/node-hour ` +
				`(with ${i.settings.heartbeatIntervalS} s keepalives) × ${fmt(NH)} ÷ 1000 × 0.128 GB`,
			"cpu",
		),
	};
}

const r2 = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;

/** The model as table rows: its inputs, the steady-state month (goal ≤ $100), and what churn adds. */
export function costFigures(m: CostModel, model: CostInputs["model"], disconnects: number): Figure[] {
	const out: Figure[] = [];
	for (const [k, v] of Object.entries(m.perNodeHour))
		out.push({ section: "cost inputs (steady)", name: k, value: r2(v.value, 4), unit: v.unit, how: v.how });
	for (const [k, v] of Object.entries(m.perShardHour))
		out.push({ section: "cost inputs (steady)", name: k, value: r2(v.value, 2), unit: v.unit, how: v.how });
	const churn = "cost inputs (churn)";
	out.push({
		section: churn,
		name: "DO rows per connect",
		value: r2(m.perConnect.doRowsWritten, 2),
		unit: "rows",
		how:
			"rowsWrittenDO + rowsWrittenCheckpoint over connect + settle " +
			"(token id, node row, outbox, later token prune), steady checkpoint share removed, ÷ connects",
	});
	out.push({
		section: churn,
		name: "D1 rows per connect",
		value: r2(m.perConnect.d1RowsWritten, 2),
		unit: "rows",
		how: "rowsWrittenD1 over connect + settle ÷ connects (flip, interval, node row, with their indexes)",
	});
	out.push({
		section: churn,
		name: "coordinator CPU per connect",
		value: r2(m.perConnect.coordinatorCpuMs, 2),
		unit: "CPU-ms",
		how: "process-tree CPU during the connect phase ÷ connects (Worker JWT check + DO + D1)",
	});
	out.push({
		section: churn,
		name: "DO rows per disconnect",
		value: r2(m.perDisconnect.doRowsWritten, 2),
		unit: "rows",
		how: `DO rows over soak + drain, steady share removed, ÷ ${disconnects} offline flips`,
	});
	out.push({
		section: churn,
		name: "D1 rows per disconnect",
		value: r2(m.perDisconnect.d1RowsWritten, 2),
		unit: "rows",
		how: "rowsWrittenD1 over soak + drain ÷ offline flips",
	});
	const sec = `cost/month, ${fmt(model.nodes)} nodes, steady`;
	for (const l of m.steady.lines)
		out.push({
			section: sec,
			name: l.kind,
			value: r2(l.monthlyUsd, 2),
			unit: "USD",
			how: l.arithmetic + (l.measured === "modelled-from-code" ? " [modelled from code: no counter]" : ""),
		});
	out.push({
		section: sec,
		name: "(DO duration from all CPU)",
		value: r2(m.durationAllCpu.monthlyUsd, 2),
		unit: "USD",
		how: `${m.durationAllCpu.arithmetic} — not in the total: keepalive auto-responses are not billed`,
	});
	const modelled = m.steady.lines
		.filter((l) => l.measured === "modelled-from-code")
		.reduce((a, l) => a + l.monthlyUsd, 0);
	out.push({
		section: sec,
		name: "total without rows read",
		value: r2(m.steady.totalUsd - modelled, 2),
		unit: "USD",
		how: "the kinds measured by counters and CPU only",
	});
	out.push({
		section: sec,
		name: "total",
		value: r2(m.steady.totalUsd, 2),
		unit: "USD",
		how: "sum of the lines above (rows read included)",
		goal: "≤ $100",
		pass: m.steady.totalUsd <= 100,
	});
	const churnSec = `cost/month, + ${model.reconnectsPerNodePerDay} reconnect/node/day`;
	m.withChurn.lines.forEach((l, idx) => {
		const base = m.steady.lines[idx] as CostLine;
		if (Math.abs(l.monthlyUsd - base.monthlyUsd) >= 0.005)
			out.push({ section: churnSec, name: l.kind, value: r2(l.monthlyUsd, 2), unit: "USD", how: l.arithmetic });
	});
	out.push({
		section: churnSec,
		name: "total",
		value: r2(m.withChurn.totalUsd, 2),
		unit: "USD",
		how: `steady + ${fmt(m.withChurn.reconnectsPerMonth)} reconnects/month`,
		goal: "≤ $100",
		pass: m.withChurn.totalUsd <= 100,
	});
	return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Hardware verification (issue 11): compute challenges at connect and in co-scheduled rounds, priced at 1M nodes.

export interface VerificationCostInputs {
	/** Measured by the adversarial scenario, per challenge part of a round. */
	perChallenge: {
		/** Incoming WebSocket messages (ack, commit, opening). */
		messagesIn: number;
		/** The coordinator process tree's CPU at the bench's stand-in shape, idle baseline removed: an upper bound. */
		coordinatorCpuMs: number;
		/** verifyRows at the real GPU size (the stand-in's check is nearly free). */
		verifierCpuMs: number;
		/** D1 rows written, as billed (rows + index entries), the round's own rows shared among its members. */
		d1RowsWritten: number;
	};
	/** D1 rows a (re)connect writes for identity (address, GPU UUIDs), as billed. */
	perConnect: { d1RowsWritten: number };
	model: {
		nodes: number;
		shards: number;
		roundsPerDay: number;
		/** Nodes in a suspect group (same /24 or /64, same GPU UUID, registered together), and a group's mean size. */
		suspectShare: number;
		meanGroupSize: number;
		/** The planner's caps (workers/domain/rounds.ts): groups per round, members per group, decoys per suspect. */
		maxGroups: number;
		maxGroup: number;
		decoyShare: number;
		minDecoys: number;
		reconnectsPerNodePerDay: number;
		/** Challenges at connect per node per day: new nodes, changed claims, failed ones reconnecting. */
		connectChallengesPerNodePerDay: number;
	};
}

export interface VerificationCost {
	/** Suspect groups at the modelled size, and how many a round takes. */
	groups: number;
	groupsPerRound: number;
	membersPerRound: number;
	/** Rounds, and days, between two rounds that include a given group; a farm is flagged after two in a row. */
	roundsBetweenVisits: number;
	daysToFlag: number;
	challengesPerMonth: number;
	lines: CostLine[];
	totalUsd: number;
	/** The most rounds a day that keep the total within `budgetUsd` (everything else as assumed). */
	maxRoundsPerDay: number;
	budgetUsd: number;
	assumptions: string[];
}

/**
 * Verification's cost on top of liveness at `model.nodes` nodes a month. Priced without the plan's included
 * allowances: the liveness model already counts them, so this is the marginal bill.
 */
export function verificationCost(i: VerificationCostInputs, budgetUsd = 100): VerificationCost {
	const m = i.model;
	const days = HOURS_PER_MONTH / 24;
	const groups = (m.nodes * m.suspectShare) / m.meanGroupSize;
	const groupsPerRound = Math.min(groups, m.maxGroups);
	const suspects = groupsPerRound * Math.min(m.meanGroupSize, m.maxGroup);
	const members = suspects + Math.max(m.minDecoys, Math.ceil(suspects * m.decoyShare));
	const pc = i.perChallenge;
	const marginal = (p: { usdPerMillion: number }) => ({ usdPerMillion: p.usdPerMillion, includedPerMonth: 0 });
	const cost = (roundsPerDay: number) => {
		const rounds = roundsPerDay * days;
		const challenges = members * rounds + m.nodes * m.connectChallengesPerNodePerDay * days;
		const reconnects = m.nodes * m.reconnectsPerNodePerDay * days;
		const lines = [
			price(
				"Workers requests (round starts)",
				rounds,
				"requests",
				marginal(PRICES.workersRequests),
				`${fmt(roundsPerDay, 1)} rounds/day × ${fmt(days, 1)} days`,
				"modelled-from-code",
			),
			price(
				"DO requests (verification)",
				(challenges * pc.messagesIn) / 20 + rounds * m.shards,
				"requests",
				marginal(PRICES.doRequests),
				`${fmt(challenges)} challenges × ${fmt(pc.messagesIn, 2)} messages in ÷ 20 + ${fmt(rounds)} rounds × ` +
					`${fmt(m.shards)} shards (one coVerify RPC each)`,
				"counters",
			),
			price(
				"DO duration (verification)",
				((challenges * (pc.coordinatorCpuMs + pc.verifierCpuMs)) / 1000) * DO_MEMORY_GB,
				"GB-s",
				marginal(PRICES.doDurationGbS),
				`${fmt(challenges)} challenges × (${fmt(pc.coordinatorCpuMs, 2)} CPU-ms measured + ` +
					`${fmt(pc.verifierCpuMs, 2)} CPU-ms verifyRows at the GPU size) ÷ 1000 × ${DO_MEMORY_GB} GB`,
				"cpu",
			),
			price(
				"D1 rows written (verification)",
				challenges * pc.d1RowsWritten + reconnects * i.perConnect.d1RowsWritten,
				"rows",
				marginal(PRICES.d1RowsWritten),
				`${fmt(challenges)} challenges × ${fmt(pc.d1RowsWritten, 2)} + ${fmt(reconnects)} reconnects × ` +
					`${fmt(i.perConnect.d1RowsWritten, 2)} (identity rows)`,
				"counters",
			),
			price(
				"D1 rows read (planning and judging)",
				rounds * (4 * m.nodes + members * members),
				"rows",
				marginal(PRICES.d1RowsRead),
				`${fmt(rounds)} rounds × (4 × ${fmt(m.nodes)}: planning scans nodes, node_identity, gpu_uuids and sorts ` +
					`the online nodes for decoys + ${fmt(members)}²: each member's end reads every member's row)`,
				"modelled-from-code",
			),
		];
		return { challenges, lines, total: lines.reduce((s, l) => s + l.monthlyUsd, 0) };
	};
	const at = cost(m.roundsPerDay);
	// The bill is affine in the number of rounds: solve for the budget from two points.
	const zero = cost(0).total;
	const perRoundDay = cost(1).total - zero;
	const roundsBetweenVisits = groups / Math.max(1, groupsPerRound);
	return {
		groups,
		groupsPerRound,
		membersPerRound: members,
		roundsBetweenVisits,
		daysToFlag: (2 * roundsBetweenVisits) / m.roundsPerDay,
		challengesPerMonth: at.challenges,
		lines: at.lines,
		totalUsd: at.total,
		maxRoundsPerDay: perRoundDay > 0 ? Math.max(0, (budgetUsd - zero) / perRoundDay) : Infinity,
		budgetUsd,
		assumptions: [
			`${fmt(m.nodes)} nodes, ${fmt(m.roundsPerDay, 1)} rounds a day. ${fmt(m.suspectShare * 100)} % of nodes are ` +
				`suspects (an assumption) in groups of ${fmt(m.meanGroupSize, 2)} (the bench's mean) = ${fmt(groups)} ` +
				`groups; a round takes at most ${fmt(m.maxGroups)} groups (workers/domain/rounds.ts MAX_GROUPS) and ` +
				`${fmt(m.decoyShare * 100)} % as many decoys: ${fmt(members)} challenges a round, so a given group is ` +
				`in a round every ${fmt(roundsBetweenVisits, 1)} rounds.`,
			`${fmt(m.connectChallengesPerNodePerDay, 2)} challenges at connect per node per day (new nodes, changed ` +
				`claims, failed nodes reconnecting; a verified node is not challenged when it reconnects), ` +
				`${fmt(m.reconnectsPerNodePerDay, 2)} reconnects per node per day (each files its address and UUIDs).`,
			"Per-challenge figures are the adversarial scenario's (one part per node: the fleet claims one GPU each).",
			"DO duration: the coordinator's CPU per challenge measured at the stand-in shape (an upper bound: workerd, " +
				"wrangler and D1 included) plus verifyRows measured in Node at the real size, × 128 MB.",
			"Marginal cost: the plan's included allowances are already used by liveness (bench/cost.ts costModel).",
		],
	};
}

export { fmt, usd };
