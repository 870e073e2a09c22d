// The adversarial scenario's figures: detection per attack with its counts, the honest false positives per epoch, the
// verifier's CPU, verification's share of an honest node's hour and its monthly cost at 1M nodes; printed as a table
// and added to bench/results.json under "adversarial".
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { challengeClass, OPENED_ROWS, passProbability, proofMs } from "../workers/domain/matmul.ts";
import { DECOY_SHARE, MAX_GROUP, MAX_GROUPS, MIN_DECOYS } from "../workers/domain/rounds.ts";
import type { Written } from "./adversarial-d1.ts";
import { MAX_RTT_MS } from "../workers/domain/verify-session.ts";
import type { AdvNode, PartRecord } from "./adversarial-fleet.ts";
import { duplicateUuidIdentities, type FleetPlan, MIX, sharingIdentities } from "./adversarial-plan.ts";
import {
	type ChallengeOutcome,
	garbageRows,
	honestFalsePositives,
	type Observed,
	passChance,
	type Rate,
	SIGNALS,
	scoreChallenges,
	scoreIdentities,
	type Truth,
	wilson,
} from "./adversarial-score.ts";
import type { SolverPool } from "./adversarial-solver.ts";
import { type VerifierTiming, WARM_UP } from "./adversarial-verifier.ts";
import type { BenchOptions } from "./args.ts";
import { verificationCost } from "./cost.ts";
import { DEVICE_MODEL, EFFICIENCY, expectedPassShare, GPUS, type GpuModel, LINES, passingShare } from "./devices.ts";
import { type Figure, Report } from "./report.ts";
import { round, summarize } from "./stats.ts";

export interface RoundRecord {
	n: number;
	status: number;
	round_id: string | null;
	/** POST /v1/admin/verify-rounds's answer. */
	started: Record<string, unknown>;
	judged: boolean;
	wall_ms: number | null;
	members: { node_id: string; groups: string[]; outcome: string | null; measured_ms: number | null; verdict: string }[];
	coordinator_cpu_ms: number;
	messages_in: number;
	d1: Record<string, Written>;
	d1_billed: number;
}

export interface AdversarialRun {
	o: BenchOptions;
	plan: FleetPlan;
	nodes: AdvNode[];
	rounds: RoundRecord[];
	epochs: Map<number, Observed>[];
	/** GPUs proven behind each address at the end (D1 address_allowances). */
	allowances: Record<string, number>;
	connects: { epoch: number; connects: number; d1: Record<string, Written>; billed: number }[];
	verifier: VerifierTiming[];
	solver: SolverPool["stats"];
	settings: Record<string, string>;
	/** wrangler.toml's VERIFY_ROUND_INTERVAL_S: how often production plans a round. */
	round_interval_s: number;
	idle_cpu_ms_per_s: number;
	/** How late the bench's own timers fired (its event loop), ms. */
	event_loop_delay_ms: { p50: number; p99: number; max: number };
	code: { commit: string; source: string; uncommitted_files: string[] };
	wall_s: number;
}

/** Assumed for the cost model and the hour share: challenges at connect per node per day (new, changed, failed). */
const CONNECT_CHALLENGES_PER_NODE_PER_DAY = 0.05;

function tally(xs: string[]): Record<string, number> {
	const out: Record<string, number> = {};
	for (const x of xs) out[x] = (out[x] ?? 0) + 1;
	return out;
}

const pct = (x: number | null) => (x === null ? null : round(x * 100, 2));
const counts = (r: Rate) =>
	`${r.hit}/${r.n} detected; the signal is on ${r.flagged} identities, ${r.flagged_honest} of them honest ` +
	`(precision ${r.precision === null ? "n/a" : `${round(r.precision * 100, 1)} %`})`;

function truthOf(plan: FleetPlan): Truth[] {
	const sharing = sharingIdentities(plan);
	const dup = duplicateUuidIdentities(plan);
	return plan.identities.map((p) => ({
		index: p.index,
		attack: p.attack,
		variant: p.variant,
		sharing: sharing.has(p.index),
		duplicateUuid: dup.has(p.index),
		fraction: p.fraction,
	}));
}

/** Every challenge that ended: round members from the coordinator's round view, connects from `verify_result`. */
function challengeOutcomes(run: AdversarialRun): ChallengeOutcome[] {
	const index = new Map(run.nodes.map((n) => [n.nodeId, n.plan.index]));
	const out: ChallengeOutcome[] = [];
	for (const r of run.rounds)
		for (const m of r.members) {
			const identity = index.get(m.node_id);
			if (identity === undefined) continue;
			const outcome = ["passed", "late", "wrong_answer", "void"].includes(m.outcome ?? "") ? m.outcome : null;
			out.push({
				identity,
				context: `round ${r.n}`,
				outcome: outcome as ChallengeOutcome["outcome"],
				measured_ms: m.measured_ms,
			});
		}
	for (const n of run.nodes)
		for (const r of n.results) {
			if (r.context.startsWith("round")) continue;
			const outcome =
				r.state === "verified" ? "passed" : r.reason === "late" || r.reason === "wrong_answer" ? r.reason : null;
			out.push({ identity: n.plan.index, context: r.context, outcome, measured_ms: r.measured_ms });
		}
	return out;
}

/**
 * Whether the simulated card and line alone make a part late: the commit would leave the bench after the time that
 * proves the claim (`proofMs`) counted from the moment the challenge reached it (null when it never committed).
 */
function lateInModel(p: PartRecord, claim: string): boolean | null {
	if (p.deviceAt === null || Number.isNaN(p.deviceAt) || p.commitSentAt === null) return null;
	if (p.commitWireAt === null || p.ackWireAt === null) return null;
	const ms = p.deviceAt + (p.commitWireAt - p.commitSentAt) - p.wireAt;
	return ms > proofMs(challengeClass(claim), Math.min(MAX_RTT_MS, p.ackWireAt - p.wireAt));
}

export function figures(run: AdversarialRun): { report: Report; data: Record<string, unknown> } {
	const rep = new Report();
	const { plan, o } = run;
	const truth = truthOf(plan);
	const final = run.epochs.at(-1) ?? new Map<number, Observed>();
	const ids = scoreIdentities(truth, final);
	const fp = honestFalsePositives(truth, run.epochs);
	const outcomes = challengeOutcomes(run);
	const attackOf = (i: number) => plan.identities[i]?.attack;
	const S = "adversarial: detection";
	const rows = Number(String(run.settings.VERIFY_SHAPE).split("x")[0]);
	const add = (f: Omit<Figure, "section"> & { section?: string }) => rep.add({ section: S, ...f });
	const rateFig = (name: string, r: Rate, how: string, goal?: number) =>
		add({
			name,
			value: pct(r.recall),
			unit: "% recall",
			how: `${how}; ${counts(r)}`,
			...(goal === undefined ? {} : { goal: `≥ ${goal} %`, pass: r.recall !== null && r.recall * 100 >= goal }),
		});

	rateFig(
		"identities sharing one card",
		ids.sharing,
		`farms of 2–4 identities on one card and 4–6 identities behind one address on 2 cards; detected = ${SIGNALS.shared}`,
		99,
	);
	for (const [v, r] of Object.entries(ids.sharingByVariant)) rateFig(`  sharing: ${v}`, r, "same detection");
	rateFig("  sharing, by timing alone", ids.sharingByTiming, "detected = an active shared_hardware flag or reason");
	const overCh = scoreChallenges(outcomes, (i) => attackOf(i) === "overclaim", ["late"]);
	rateFig(
		"claims a tier or more above the card",
		ids.overclaim,
		`${MIX.overclaims.map(([a, b]) => `${a} claiming ${b}`).join(", ")}, half of them holding their ack ` +
			`${MIX.ack_hold_ms} ms; detected = ${SIGNALS.failed} at the end; per challenge ${overCh.caught}/${overCh.n} late`,
		95,
	);
	const modelOf = (device: string) => plan.devices.get(device)?.model as GpuModel;
	for (const [v, r] of Object.entries(ids.overclaimByVariant)) {
		const p = plan.identities.find((x) => x.variant === v);
		const rtt = Math.min(500, 100 + (p?.ackHoldMs ?? 0));
		const expected = p ? 1 - expectedPassShare(modelOf(p.device), p.claim, p.ackHoldMs) : null;
		rateFig(
			`  overclaim: ${v}`,
			r,
			`a card passes when it runs at ≥ ${round(passingShare(p?.claim ?? "", rtt) * 100, 0)} % of a nominal card ` +
				`of the claimed class (round trip ${rtt} ms); the device model expects ${pct(expected)} % caught`,
		);
	}
	// What the device model expects, for this fleet's overclaimers and if every one held its ack back.
	const over = plan.identities.filter((p) => p.attack === "overclaim");
	const expectedRecall = (hold: (p: (typeof over)[number]) => number) =>
		over.length === 0
			? null
			: 1 - over.reduce((s, p) => s + expectedPassShare(modelOf(p.device), p.claim, hold(p)), 0) / over.length;
	add({
		name: "  claims above the card, expected from the device model",
		value: pct(expectedRecall((p) => p.ackHoldMs)),
		unit: "% recall",
		how:
			"the share of each overclaimer's card model whose commit alone proves the claim (±20 % unevenness, no " +
			`jitter, its held ack counted): the measured figure is ${over.length} identities, this is its expectation; ` +
			`${pct(expectedRecall(() => MIX.ack_hold_ms))} % if every overclaimer held its ack ${MIX.ack_hold_ms} ms`,
	});
	const partial = scoreChallenges(outcomes, (i) => attackOf(i) === "partial", ["wrong_answer"]);
	const hardest = scoreChallenges(
		outcomes,
		(i) => attackOf(i) === "partial" && plan.identities[i]?.fraction === MIX.partial_fraction.hardest,
		["wrong_answer"],
	);
	const partialIds = plan.identities.filter((p) => p.attack === "partial");
	const expected = (fs: number[], at: (f: number) => number) =>
		fs.length ? fs.reduce((s, f) => s + (1 - at(f)), 0) / fs.length : null;
	const fOf = (c: ChallengeOutcome) => plan.identities[c.identity]?.fraction ?? 1;
	const ended = (sel: (c: ChallengeOutcome) => boolean) =>
		outcomes.filter((c) => sel(c) && c.outcome !== null && c.outcome !== "void").map(fOf);
	const expectAt = (sel: (c: ChallengeOutcome) => boolean) => ({
		bench: expected(ended(sel), (f) => passChance(rows, garbageRows(rows, f), OPENED_ROWS)),
		gpu: expected(ended(sel), (f) => passProbability(f, OPENED_ROWS)),
	});
	const isPartial = (c: ChallengeOutcome) => attackOf(c.identity) === "partial";
	const e1 = expectAt(isPartial);
	const ci = wilson(partial.caught, partial.n);
	add({
		name: "partial computation (f = 0.5–0.9), per challenge",
		value: pct(partial.recall),
		unit: "% caught",
		goal: "≥ 96 %",
		pass: partial.recall !== null && partial.recall >= 0.96,
		how:
			`${partialIds.length} identities computing f of the rows right (half f = 0.9), the rest made up in range; ` +
			`caught = ${SIGNALS.wrong_answer}; ${partial.caught}/${partial.n} challenges (95 % CI ` +
			`${ci ? ci.map((x) => round(x * 100, 1)).join("–") : "n/a"} %; outcomes ${JSON.stringify(partial.outcomes)}); ` +
			`expected ${pct(e1.bench)} % at the stand-in's ${rows} rows (k = ${OPENED_ROWS} opened without replacement), ` +
			`${pct(e1.gpu)} % at the real sizes (1 − f^32)`,
	});
	const e2 = expectAt((c) => isPartial(c) && fOf(c) === MIX.partial_fraction.hardest);
	add({
		name: "  partial, f = 0.9 only",
		value: pct(hardest.recall),
		unit: "% caught",
		how:
			`${hardest.caught}/${hardest.n} challenges; expected ${pct(e2.bench)} % at ${rows} rows, ` +
			`${pct(e2.gpu)} % at the real sizes (1 − 0.9^32 = 96.57 %)`,
	});
	rateFig("  partial computers failed at the end", ids.partial, `detected = ${SIGNALS.failed}`);
	rateFig(
		"duplicated GPU UUIDs",
		ids.duplicate,
		`pairs of identities with a card each reporting one UUID; detected = ${SIGNALS.duplicate}`,
	);
	rateFig(
		"many identities behind one address",
		ids.oneAddress,
		`4–6 identities behind one IPv4 address on 2 cards; detected = ${SIGNALS.shared}`,
	);
	for (const [a, r] of Object.entries(ids.penalised))
		if (a !== "honest") rateFig(`  ${a}: any penalty`, r, `detected = ${SIGNALS.penalised}`);

	// Honest nodes.
	const H = "adversarial: honest";
	const honestCh = scoreChallenges(outcomes, (i) => attackOf(i) === "honest", ["late", "wrong_answer"]);
	rep.add({
		section: H,
		name: "honest false positives per epoch",
		value: pct(fp.pooled),
		unit: "%",
		goal: "≤ 0.5 %",
		pass: fp.pooled !== null && fp.pooled <= 0.005,
		how:
			`honest identities with ${SIGNALS.penalised} at the end of each epoch (a reconnect and a round), pooled over ` +
			`${run.epochs.length} epochs × ${fp.honest} honest identities: per epoch ${JSON.stringify(fp.perEpoch)}; ` +
			`worst epoch ${pct(fp.worst)} %`,
	});
	// Each honest late: did the model make it late, or the local setup (the coordinator's one workerd thread, the
	// bench's own CPU)?
	const late = { model: 0, setup: 0, unknown: 0 };
	/** Per honest identity, the epoch of each failed challenge and whether only the local setup made it fail. */
	const failures = new Map<number, { epoch: number; setup: boolean }[]>();
	const epochOf = (context: string) => Number(context.split(" ")[1] ?? 1) || 1;
	for (const n of run.nodes) {
		if (n.plan.attack !== "honest") continue;
		const failed = outcomes.filter(
			(c) => c.identity === n.plan.index && (c.outcome === "late" || c.outcome === "wrong_answer"),
		);
		for (const c of failed) {
			const verdict =
				c.outcome === "late"
					? lateInModel(n.parts.find((p) => p.context === c.context) ?? ({} as PartRecord), n.plan.claim)
					: true;
			if (c.outcome === "late") late[verdict === null ? "unknown" : verdict ? "model" : "setup"]++;
			const list = failures.get(n.plan.index) ?? [];
			list.push({ epoch: epochOf(c.context), setup: verdict === false });
			failures.set(n.plan.index, list);
		}
	}
	// An honest identity penalised at an epoch's end whose every failure so far only the local setup explains.
	const setupCaused = run.epochs.map(
		(e, j) =>
			truth.filter((t) => {
				if (t.attack !== "honest") return false;
				const o = e.get(t.index);
				if (!o || (o.state !== "failed" && o.flags.length === 0)) return false;
				const soFar = (failures.get(t.index) ?? []).filter((f) => f.epoch <= j + 1);
				return soFar.length > 0 && soFar.every((f) => f.setup);
			}).length,
	);
	const adjusted = fp.honest
		? (fp.perEpoch.reduce((a, b) => a + b, 0) - setupCaused.reduce((a, b) => a + b, 0)) /
			(fp.honest * run.epochs.length)
		: null;
	rep.add({
		section: H,
		name: "  the same, without the setup's lateness",
		value: pct(adjusted),
		unit: "%",
		how:
			"leaving out honest identities penalised only by challenges that the model does not make late (next row): " +
			`per epoch ${JSON.stringify(setupCaused)} of the above`,
	});
	rep.add({
		section: H,
		name: "honest lates the model does not explain",
		value: late.setup,
		unit: `of ${late.model + late.setup + late.unknown}`,
		how:
			"honest challenges that ended late although the simulated card + line put the commit on the bench's socket " +
			`before the deadline (counted from when the challenge reached it): the coordinator's own delay or the bench's; ` +
			`${late.model} late in the model itself (line spikes), ${late.unknown} never committed`,
	});
	rep.add({
		section: H,
		name: "honest challenges that failed",
		value: pct(honestCh.recall),
		unit: "%",
		how:
			`single attempts of honest identities that ended late or wrong_answer (penalised only after 2 in a row): ` +
			`${honestCh.caught}/${honestCh.n}; outcomes ${JSON.stringify(honestCh.outcomes)}; line spikes ` +
			`${run.nodes.filter((n) => n.plan.attack === "honest").reduce((s, n) => s + n.spikes, 0)}`,
	});
	const dc = plan.identities.filter((p) => p.variant.startsWith("datacentre"));
	const dcPenalised = dc.filter((p) => {
		const x = final.get(p.index);
		return x && (x.state === "failed" || x.flags.length > 0);
	}).length;
	const proven = (ps: typeof dc) =>
		[...new Set(ps.map((p) => p.address))].map(
			(a) => `${run.allowances[a] ?? "none"} for ${ps.filter((p) => p.address === a).length}`,
		);
	const sybils = plan.identities.filter((p) => p.attack === "one_address");
	rep.add({
		section: H,
		name: "data-centre nodes behind one address penalised",
		value: dc.length ? dcPenalised : null,
		unit: `of ${dc.length}`,
		how:
			"honest cards of their own behind one IPv4 address, one operator: they must pass the rounds together; GPUs " +
			`proven per address (address_allowances) ${proven(dc).join(", ") || "n/a"} identities; the sybil ` +
			`addresses' ${proven(sybils).join(", ") || "n/a"}`,
	});

	// The verifier, the hour, the cost.
	const V = "adversarial: cost";
	const inWorkerd = run.verifier.filter((v) => v.runtime === "workerd");
	const worst = Math.max(...inWorkerd.map((v) => v.cpu_ms_mean));
	const timing = (v: VerifierTiming) =>
		`${v.runtime}, ${v.class} ${v.shape.rows} rows: ${round(v.cpu_ms_mean, 1)} ms CPU, wall p50 ` +
		`${round(v.wall_ms.p50, 1)}, max ${round(v.wall_ms.max, 1)} ms (${v.runs} runs, load average ${round(v.loadavg, 2)})`;
	rep.add({
		section: V,
		name: "verifier CPU per challenge (k = 32)",
		value: round(worst, 1),
		unit: "ms (mean, workerd)",
		goal: "≤ 50 ms",
		pass: inWorkerd.length > 0 && worst <= 50,
		how:
			"verifyRows on fresh honest openings at the real sizes, before the coordinator starts, in workerd (the " +
			"coordinator's runtime: bench/verifier-worker.ts in Miniflare; the workerd process's CPU from /proc over " +
			`all the runs ÷ runs) and, for comparison, in Node ${process.version} (process CPU, WebCrypto's libuv threads ` +
			`included); ${WARM_UP} warm-up runs left out: ${run.verifier.map(timing).join("; ")}`,
	});
	const honestIds = new Set(plan.identities.filter((p) => p.attack === "honest").map((p) => p.index));
	const honestMs = outcomes
		.filter((c) => honestIds.has(c.identity) && c.outcome === "passed" && c.measured_ms !== null)
		.map((c) => c.measured_ms as number);
	const busy = summarize(honestMs);
	const perHour = 3600 / run.round_interval_s + CONNECT_CHALLENGES_PER_NODE_PER_DAY / 24;
	const hourShare = busy.p99 === null ? null : (perHour * busy.p99) / 1000 / 3600;
	rep.add({
		section: V,
		name: "verification's share of an honest node's hour",
		value: pct(hourShare),
		unit: "%",
		goal: "≤ 2 %",
		pass: hourShare !== null && hourShare <= 0.02,
		how:
			`${round(perHour, 3)} challenges/hour (a round every ${run.round_interval_s} s, wrangler.toml ` +
			`VERIFY_ROUND_INTERVAL_S, assuming the node is in every round, + ${CONNECT_CHALLENGES_PER_NODE_PER_DAY} at ` +
			`connect a day) × p99 ${busy.p99} ms measured by the coordinator (p50 ${busy.p50}, ${busy.count} honest passes)`,
	});
	const started = run.rounds.reduce((s, r) => s + (Number(r.started.nodes) || 0), 0);
	const reconnects = run.connects.filter((c) => c.epoch > 1);
	const perConnect =
		reconnects.reduce((s, c) => s + c.billed, 0) /
		Math.max(
			1,
			reconnects.reduce((s, c) => s + c.connects, 0),
		);
	const roundsPerDay = o.adversarial.roundsPerDay ?? 86_400 / run.round_interval_s;
	const perChallenge = {
		messagesIn: run.rounds.reduce((s, r) => s + r.messages_in, 0) / Math.max(1, started),
		coordinatorCpuMs: run.rounds.reduce((s, r) => s + r.coordinator_cpu_ms, 0) / Math.max(1, started),
		verifierCpuMs: worst,
		d1RowsWritten: run.rounds.reduce((s, r) => s + r.d1_billed, 0) / Math.max(1, started),
	};
	const groupSizes = run.rounds.flatMap((r) =>
		((r.started.groups ?? []) as { node_ids: string[] }[]).map((g) => g.node_ids.length),
	);
	const cost = verificationCost({
		perChallenge,
		perConnect: { d1RowsWritten: perConnect },
		model: {
			nodes: o.model.nodes,
			shards: Math.ceil(o.model.nodes / o.model.nodesPerShard),
			roundsPerDay,
			suspectShare: o.adversarial.suspectShare,
			meanGroupSize: groupSizes.length ? groupSizes.reduce((a, b) => a + b, 0) / groupSizes.length : 2,
			maxGroups: MAX_GROUPS,
			maxGroup: MAX_GROUP,
			decoyShare: DECOY_SHARE,
			minDecoys: MIN_DECOYS,
			reconnectsPerNodePerDay: o.model.reconnectsPerNodePerDay,
			connectChallengesPerNodePerDay: CONNECT_CHALLENGES_PER_NODE_PER_DAY,
		},
	});
	const inputs: [string, number, string, string][] = [
		[
			"messages in per challenge",
			perChallenge.messagesIn,
			"messages",
			"shards' messagesIn over the rounds ÷ members challenged",
		],
		[
			"coordinator CPU per challenge",
			perChallenge.coordinatorCpuMs,
			"CPU-ms",
			`process-tree CPU over the rounds, idle ${round(run.idle_cpu_ms_per_s, 1)} ms/s removed, ÷ members ` +
				`(stand-in shape ${run.settings.VERIFY_SHAPE})`,
		],
		[
			"D1 rows written per challenge",
			perChallenge.d1RowsWritten,
			"rows",
			`rows + index entries changed in ${Object.keys(run.rounds[0]?.d1 ?? {}).join(", ")} over each round ` +
				"(D1 file before/after), ÷ members",
		],
		[
			"D1 rows written per round",
			run.rounds.reduce((s, r) => s + r.d1_billed, 0) / Math.max(1, run.rounds.length),
			"rows",
			`the same, whole rounds (${round(started / Math.max(1, run.rounds.length), 0)} members each)`,
		],
		["D1 rows written per reconnect", perConnect, "rows", "the same over the reconnect waves ÷ reconnects"],
	];
	for (const [name, value, unit, how] of inputs) rep.add({ section: V, name, value: round(value, 2), unit, how });
	for (const l of cost.lines)
		rep.add({ section: V, name: l.kind, value: round(l.monthlyUsd, 2), unit: "USD/month", how: l.arithmetic });
	rep.add({
		section: V,
		name: `verification at ${o.model.nodes.toLocaleString("en-US")} nodes`,
		value: round(cost.totalUsd, 2),
		unit: "USD/month",
		goal: "≤ $100",
		pass: cost.totalUsd <= 100,
		how:
			`${round(roundsPerDay, 1)} rounds/day, ${Math.round(cost.challengesPerMonth).toLocaleString("en-US")} ` +
			`challenges/month; within $100 up to ${round(cost.maxRoundsPerDay, 1)} rounds/day`,
	});

	rep.add({
		section: V,
		name: `days until a farm is flagged at ${o.model.nodes.toLocaleString("en-US")} nodes`,
		value: round(cost.daysToFlag, 1),
		unit: "days",
		how:
			`${Math.round(cost.groups).toLocaleString("en-US")} suspect groups, ${cost.groupsPerRound} a round ` +
			`(MAX_GROUPS): a group is in a round every ${round(cost.roundsBetweenVisits, 1)} rounds, flagged after ` +
			`two in a row, at ${round(roundsPerDay, 1)} rounds/day`,
	});

	// The run itself: is the simulation sound?
	const R = "adversarial: run";
	const overruns = run.nodes.flatMap((n) => n.parts.map((p) => p.overrunMs ?? 0)).filter((x) => x > 100);
	const compute = summarize(run.solver.computeMs);
	rep.add({
		section: R,
		name: "commits held back by the bench's own CPU",
		value: overruns.length,
		unit: "challenges",
		how:
			`real answer ready > 100 ms after the simulated card (max ${round(Math.max(0, ...overruns), 0)} ms); ` +
			`solver threads: ${run.solver.commits} commitments, p50 ${round(compute.p50, 1)} ms, ` +
			`max ${round(compute.max, 0)} ms, ` +
			`queue up to ${run.solver.queuedMax}`,
	});
	// How much of a commit's measured time the bench cannot account for: the coordinator timing it late (its one
	// workerd thread runs every shard here) or sending the challenge late.
	const byNode = new Map(run.nodes.map((n) => [n.nodeId, n]));
	const lag: number[] = [];
	for (const r of run.rounds)
		for (const m of r.members) {
			const part = byNode.get(m.node_id)?.parts.find((p) => p.context === `round ${r.n}`);
			if (m.measured_ms === null || !part?.commitWireAt) continue;
			lag.push(m.measured_ms - (part.commitWireAt - part.wireAt));
		}
	const lagS = summarize(lag);
	rep.add({
		section: R,
		name: "coordinator's own delay in timing a commit",
		value: `${round(lagS.p50, 0)} / ${round(lagS.p99, 0)} / ${round(lagS.max, 0)}`,
		unit: "ms p50/p99/max",
		how:
			"measured_ms − (commit left the bench's socket − challenge reached it), round members: its send, " +
			`the loopback and its queue before the commit was timed (${lagS.count} commits)`,
	});
	const el = run.event_loop_delay_ms;
	rep.add({
		section: R,
		name: "bench's event-loop delay",
		value: `${round(el.p50, 1)} / ${round(el.p99, 1)} / ${round(el.max, 0)}`,
		unit: "ms p50/p99/max",
		how: "perf_hooks monitorEventLoopDelay over the epochs: how late the simulated cards' and lines' timers fired",
	});
	const spread = run.rounds.map((r) => {
		const at = r.members.flatMap((m) => {
			const p = byNode.get(m.node_id)?.parts.find((x) => x.context === `round ${r.n}`);
			return p ? [p.wireAt] : [];
		});
		return at.length ? Math.max(...at) - Math.min(...at) : 0;
	});
	rep.add({
		section: R,
		name: "a round's challenges reach the fleet within",
		value: spread.length ? Math.max(...spread) : null,
		unit: "ms (max)",
		how: `first → last member's challenge on the bench's sockets, per round: ${JSON.stringify(spread)}`,
	});
	const walls = run.rounds.flatMap((r) => (r.wall_ms === null ? [] : [r.wall_ms]));
	const voids = outcomes.filter((c) => c.context.startsWith("round") && (c.outcome === "void" || c.outcome === null));
	rep.add({
		section: R,
		name: "rounds judged / members / void",
		value: `${run.rounds.filter((r) => r.judged).length}/${run.rounds.length} / ${started} / ${voids.length}`,
		unit: "",
		how: `POST /v1/admin/verify-rounds then GET until judged_at; wall p50 ${summarize(walls).p50} ms`,
	});
	rep.add({
		section: R,
		name: "wall time",
		value: round(run.wall_s, 0),
		unit: "s",
		how: `${o.nodes} identities, ${run.rounds.length} epochs; 2 cores shared with other work (load ${loadavg()
			.map((x) => x.toFixed(2))
			.join(" ")})`,
	});

	const data = {
		what:
			"An adversarial fleet against hardware verification (issue 11, part 8): every identity speaks the real protocol " +
			"over a real WebSocket to a local coordinator (wrangler dev) with a small stand-in challenge shape; its answer is " +
			"computed for real with the reference solve (honestly, or with rows made up), but its commit is held back until a " +
			"simulated card of its real model would have finished the real-size challenge, sharing its throughput with the " +
			"other identities it serves. Each epoch: every identity reconnects (farms one identity at a time), then one " +
			"co-scheduled round; the owner's API is read after each.",
		measured_at: new Date().toISOString(),
		command: `node bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
		code: run.code,
		seed: o.adversarial.seed,
		settings: run.settings,
		device_model: { ...DEVICE_MODEL, efficiency: EFFICIENCY, gpus: GPUS },
		lines: LINES,
		mix: MIX,
		detection: SIGNALS,
		figures: rep.figures,
		goals: rep.goals(),
		scores: { identities: ids, honest_false_positives: fp, partial, partial_f09: hardest, honest_challenges: honestCh },
		cost: { inputs: perChallenge, per_reconnect_d1_rows: perConnect, ...cost },
		verifier: run.verifier,
		rounds: run.rounds.map(({ members, started, d1, ...r }) => {
			const groups = (started.groups ?? []) as { key: string; node_ids: string[] }[];
			return {
				...r,
				groups: groups.length,
				group_kinds: tally(groups.map((g) => g.key.split(":")[0] as string)),
				decoys: ((started.decoys ?? []) as string[]).length,
				members: started.nodes ?? null,
				not_started: ((started.not_started ?? []) as string[]).length,
				verdicts: tally(members.map((m) => m.verdict)),
				d1_written: Object.fromEntries(
					Object.entries(d1).map(([t, w]) => [t, `${w.inserted} inserted, ${w.updated} updated → ${w.billed} billed`]),
				),
			};
		}),
		connects: run.connects.map((c) => ({ epoch: c.epoch, connects: c.connects, d1_billed: c.billed })),
		identities_legend:
			"card: model ×throughput factor, policy; final: state (reason) [active flags]; epochs: state at each " +
			"epoch's end; challenges: context → outcome (rounds from the round view, connects from verify_result)",
		identities: plan.identities.map((p) => {
			const dev = plan.devices.get(p.device);
			const f = final.get(p.index);
			return {
				index: p.index,
				node_id: run.nodes[p.index]?.nodeId,
				attack: p.attack,
				variant: p.variant,
				claim: p.claim,
				card: dev ? `${dev.model} ×${round(dev.unevenness, 3)}, ${dev.policy}` : null,
				address: p.address,
				...(p.fraction === null ? {} : { fraction: round(p.fraction, 3) }),
				final: f ? `${f.state}${f.reason ? ` (${f.reason})` : ""} [${f.flags.join(", ")}]` : null,
				epochs: run.epochs.map((e) => e.get(p.index)?.state ?? "?").join(" "),
				challenges: outcomes
					.filter((c) => c.identity === p.index)
					.map((c) => `${c.context} → ${c.outcome}`)
					.join("; "),
			};
		}),
		solver: { ...run.solver, computeMs: compute },
		machine: { nproc: cpus().length, loadavg_end: loadavg(), node: process.version },
		wall_seconds: round(run.wall_s, 1),
	};
	return { report: rep, data };
}

/** Prints the table and the goals, and adds (or replaces) the `adversarial` key of the results file. */
export function printAndWrite(run: AdversarialRun, out: string, log: (m: string) => void): void {
	const { report, data } = figures(run);
	console.log(`\n${report.table()}\n`);
	for (const a of (data.cost as { assumptions: string[] }).assumptions) console.log(`  · ${a}`);
	const goals = report.goals();
	console.log(
		`\ngoals: ${goals.filter((g) => g.pass).length}/${goals.length} pass${
			goals.some((g) => !g.pass)
				? ` — missed: ${goals
						.filter((g) => !g.pass)
						.map((g) => `${g.name} (${g.value} ${g.unit}, goal ${g.goal})`)
						.join("; ")}`
				: ""
		}`,
	);
	const body: Record<string, unknown> = existsSync(out) ? JSON.parse(readFileSync(out, "utf8")) : {};
	body.adversarial = data;
	writeFileSync(out, `${JSON.stringify(body, null, 2)}\n`);
	log(`results added to ${out} under "adversarial"`);
}
