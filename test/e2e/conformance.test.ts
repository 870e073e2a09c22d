// Conformance: an agent written from docs/PROTOCOL.md and docs/POINTS.md alone (test/e2e/conformance/) runs against a
// real coordinator that is killed and restarted mid-flight; then every figure the API and the ledger publish is held
// against what the agents themselves saw on the wire. Where the two disagree the test fails: the docs are the contract.
import { afterAll, describe, expect, it } from "vitest";
import { type ChallengeSeen, ConformanceAgent, newIdentity, type Policy } from "./conformance/agent.ts";
import {
	derivedTermBreaks,
	encodeLeaf,
	expectedFee,
	expectedPrice,
	expectedReward,
	foldProof,
	type Leaf,
	LOWEST_WEIGHT_BP,
	leafHash,
	leafOfArray,
	merkleRoot,
	recomputePoints,
	rowInvariantBreaks,
	tierOf,
} from "./conformance/check.ts";
import { api, type Coordinator, coordinator, E2E_VARS, until } from "./support.ts";

const iso = (t: number | undefined) => (t === undefined ? "-" : new Date(t).toISOString().slice(11, 23));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * How late after the agent sent a frame the coordinator may stamp it as heard. Agent and coordinator share this
 * machine's clock, so this is only local network and scheduling latency (a loaded CI box can stall a few hundred ms).
 */
const HEARD_LATENCY_MS = 500;
/** Clock readings are whole milliseconds on both sides; a stamp may round to just before the send we logged. */
const CLOCK_SLACK_MS = 5;
const CHECKPOINT_MS = Number(E2E_VARS.CHECKPOINT_S) * 1000;

let c: Coordinator | undefined;
const agents: ConformanceAgent[] = [];

afterAll(async () => {
	await Promise.all(agents.map((a) => a.kill()));
	await c?.stop("SIGKILL");
});

interface NodeSpec {
	name: string;
	operator: "A" | "B";
	gpu_model: string;
	gpu_count: number;
	policy: Policy;
}

/** Two operators; the H100s are the cluster's members, the RTX 4090s carry the other challenge policies. */
const NODES: NodeSpec[] = [
	{ name: "a-h100", operator: "A", gpu_model: "H100", gpu_count: 4, policy: "right" },
	{ name: "b-h100", operator: "B", gpu_model: "H100", gpu_count: 4, policy: "wrong" },
	{ name: "a-4090", operator: "A", gpu_model: "RTX 4090", gpu_count: 2, policy: "right-then-disconnect" },
	{ name: "b-4090", operator: "B", gpu_model: "RTX 4090", gpu_count: 1, policy: "never" },
];

interface Price {
	gpu_model: string;
	base_price_per_gpu_hour_cents: number;
	online_gpus: number;
	reserved_gpus: number;
	price_per_gpu_hour_cents: number;
}

interface Quote {
	price_per_gpu_hour_cents: number;
	total_cents: number;
	hold_cents: number;
	fee_cents: number;
	available_gpus: number;
}

interface EpochView {
	epoch: number;
	status: string;
	started_at: string;
	ended_at: string | null;
	root: string | null;
	nodes: number | null;
	total_points: number | null;
	emission: number | null;
}

interface Proof {
	epoch: number;
	root: string;
	leaf: Leaf;
	leaf_hash: string;
	proof: { side: string; hash: string }[];
}

interface Flip {
	from: string;
	to: string;
	at: string;
	reason: string;
	last_seen_at: string | null;
	incident_id: string | null;
}

interface ClusterView {
	id: string;
	status: string;
	gpu_count: number;
	price_per_gpu_hour_cents: number;
	hold_cents: number;
	charged_cents: number;
	refunded_cents: number;
	nodes: {
		node_id: string;
		gpu_count: number;
		state: string;
		ready_at: string | null;
		ended_at: string | null;
	}[];
	events: { kind: string; quote?: Record<string, unknown> }[];
}

interface FeeStep {
	cluster_id: string;
	step: number;
	charge_cents: number;
	payouts_cents: number;
	fee_cents: number;
	paid_by_you_cents: number;
	paid_to_you_cents: number;
}

interface Billing {
	available_cents: number;
	held_cents: number;
	entries: {
		kind: string;
		available_delta_cents: number;
		held_delta_cents: number;
		cluster_id: string | null;
		node_id: string | null;
	}[];
	fees: {
		as_renter: { charges_cents: number; payouts_cents: number; fees_cents: number };
		as_operator: { payouts_cents: number; fees_cents: number };
		steps: FeeStep[];
	};
}

/** What the test did to the coordinator, and when: the restarts are the only server-side closes it expects. */
const restarts: { signal: NodeJS.Signals; at: number; why: string; inFlight: string[]; connected: number }[] = [];

function co(): Coordinator {
	if (!c) throw new Error("no coordinator");
	return c;
}

async function restart(
	signal: NodeJS.Signals,
	why: string,
	o: { before?: () => Promise<void>; holdBack?: ConformanceAgent; firstBackOnly?: boolean } = {},
): Promise<void> {
	const { port, persistDir, adminToken } = co();
	await o.before?.();
	// What was on the wire at the moment of the kill: answered challenges whose result no agent has been told.
	const inFlight = agents.flatMap((a) =>
		[...a.challenges.values()]
			.filter((ch) => ch.answer && !ch.result && ch.conn === a.connections.length && a.isOpen)
			.map((ch) => `${a.nodeId}/${ch.id}`),
	);
	o.holdBack?.hold();
	const at = Date.now();
	restarts.push({ signal, at, why, inFlight, connected: agents.filter((a) => a.isOpen).length });
	await co().stop(signal);
	c = await coordinator({ port, persistDir, vars: { ADMIN_TOKEN: adminToken } });
	const back = (a: ConformanceAgent) => a.isOpen && (a.connections.at(-1)?.openAt ?? 0) > at;
	// The first node back has woken the shard, which found its sockets lost and opened this restart's incident.
	if (o.firstBackOnly) return until("a first reconnect", async () => agents.some(back), 90_000);
	for (const a of agents.filter((a) => a !== o.holdBack))
		await a.until("a reconnect after the restart", () => back(a), 90_000);
	const held = o.holdBack;
	if (held) {
		// PROTOCOL §4: a node that does not come back within offline_after_s of the restart is marked offline.
		await until("the held-back node marked offline", async () => {
			const { body } = await api<{ node: { status: string } }>(co(), `/v1/nodes/${held.nodeId}`);
			return body.node.status === "offline";
		});
		await sleep(1500); // offline for a while: its gap is our incident's, to be credited
		held.release();
		await held.until("the held-back node's reconnect", () => back(held), 90_000);
	}
}

async function settle(): Promise<{ status: number; body: { epoch: number; settled: { epoch: number }[] } }> {
	return api(co(), "/v1/admin/epochs/settle", { body: {}, auth: co().adminToken });
}

/** Settles, retrying while another settlement is still running (409), e.g. one resumed after a crash. */
async function settleSurely(): Promise<number> {
	let last = 0;
	await until(
		"a settlement that answers 200",
		async () => {
			const r = await settle();
			if (r.status === 200) last = r.body.epoch;
			return r.status === 200;
		},
		60_000,
	);
	return last;
}

/**
 * PROTOCOL §2: what an agent is told is what the ledger settles, except two documented cases, which this derives from
 * the agent's own log: a challenge with no result on a connection the node itself ended (bye, close, or silence →
 * keepalive timeout 4000) still counts — pending as `missed`, an answer as judged by its arrival; one whose socket died
 * in a coordinator restart is void (counted nowhere) unless a result for it was told later.
 */
function untoldButCounted(a: ConformanceAgent): { ch: ChallengeSeen; outcome: string; at: number }[] {
	const out: { ch: ChallengeSeen; outcome: string; at: number }[] = [];
	for (const ch of a.challenges.values()) {
		if (ch.result) continue;
		const conn = a.connections[ch.conn - 1];
		if (!conn || conn.closedAt === undefined) continue;
		// A close the coordinator answered (not 1006, which means the socket died unanswered, e.g. a dead coordinator
		// found by the pong watch) or its keepalive-timeout close: the node left while the coordinator was there to see it.
		const nodeLeft = (conn.closedBy === "agent" && conn.closeCode !== 1006) || conn.closeCode === 4000;
		if (!nodeLeft) continue; // the restart's void
		let outcome = "missed";
		if (ch.answer) outcome = ch.answer.right && ch.answer.at <= ch.deadline ? "passed" : "failed";
		out.push({ ch, outcome, at: conn.closedAt });
	}
	return out;
}

/** The outcome PROTOCOL §2 says a told result must carry, from what this agent did with the challenge. */
function outcomeFor(ch: ChallengeSeen): string {
	if (!ch.answer) return "missed";
	return ch.answer.right && ch.answer.at <= ch.deadline ? "passed" : "failed";
}

describe("conformance: an agent from the docs against a restarted coordinator", () => {
	it("checks the documents' worked examples with the conformance recomputation", () => {
		// POINTS.md "Worked example of a leaf" and "Rows settled before encoding 3" and "… 2": the leaves as printed there.
		const printed = [
			'[3,7,"node_ab12cd34ef56","acc_0123456789ab","RTX 4090",2,"consumer-high",10000,1,2,10000,0,8000,"high",10500,' +
				'3000,300,1120,120,77,4,3,0,1,4158,1846,0,6004,"[]",1234567]',
			'[2,7,"node_ab12cd34ef56","acc_0123456789ab","RTX 4090",2,"consumer-high",10000,1,2,10000,0,8000,"high",10500,' +
				'3000,300,0,4,3,0,1,4158,0,0,4158,"[]",1234567]',
			'[2,7,"node_ab12cd34ef56","acc_0123456789ab","GeForce RTX 4090 “Ti” é\\t/\\u0001",2,"consumer-high",10000,1,2,' +
				'10000,0,8000,"high",10500,3000,300,0,4,3,0,1,4158,0,1039,3119,"[{\\"code\\":\\"shared_gpu\\",\\"reason\\":' +
				'\\"same \\\\\\"GPU\\\\\\" as node_x — see ticket\\",\\"share\\":0.25}]",1234567]',
			'[7,"node_ab12cd34ef56","acc_0123456789ab","RTX 4090",2,"consumer-high",10000,0,3000,300,0,4,3,0,1,2475,0,0,' +
				'2475,"[]",1234567]',
		];
		const hashes = [
			"a900bd2e6e9147367033a3385f4556d64b6b1ceeaba29fde69a0292d41e858bb",
			"eac38d61b564de140a5800fb6dd7f544f9730e8a04b18067a9551a990f1eb111",
			"7a28e7b02ccf3f8b4bcbc328f3e65514d7fd8df0255021bb221bf1fe3631b635",
			"b51034fde034e20ccce64d3cc368e0fdf8e5e3415acb389ea554ffbc8225b4f0",
		];
		const terms = [
			{ availability_points: 4158, compute_points: 1846, penalty_points: 0, points: 6004 },
			{ availability_points: 4158, compute_points: 0, penalty_points: 0, points: 4158 },
			{ availability_points: 4158, compute_points: 0, penalty_points: 1039, points: 3119 },
			{ availability_points: 2475, compute_points: 0, penalty_points: 0, points: 2475 },
		];
		for (const [i, text] of printed.entries()) {
			const leaf = leafOfArray(JSON.parse(text) as unknown[]);
			expect(encodeLeaf(leaf)).toBe(text);
			expect(leafHash(encodeLeaf(leaf))).toBe(hashes[i]);
			expect(recomputePoints(leaf)).toEqual(terms[i]);
			expect(derivedTermBreaks(leaf)).toEqual([]);
		}
		expect(Buffer.byteLength(printed[0] as string)).toBe(168);
		expect(Buffer.byteLength(printed[1] as string)).toBe(155);
		expect(Buffer.byteLength(printed[3] as string)).toBe(125);
		// "The same node not verified": one GPU at the lowest weight, share 8888: 346.
		const unverified = {
			...leafOfArray(JSON.parse(printed[1] as string) as unknown[]),
			verified: 0,
			credited_gpus: 1,
			effective_weight_bp: LOWEST_WEIGHT_BP,
			address_share_bp: 8888,
		};
		expect(recomputePoints(unverified).availability_points).toBe(346);
		expect(tierOf("H100")).toEqual({ tier: "datacenter-hopper", bp: 30000 });
		expect(tierOf("RTX 4090")).toEqual({ tier: "consumer-high", bp: 10000 });
	});

	it("publishes exactly the figures the agents saw, across crashes, settlements and a rented cluster", async () => {
		c = await coordinator();
		// Epoch 1 opens the first time one is needed; closing it now makes the next one start before any node exists.
		expect((await settle()).status).toBe(200);

		// 1. Accounts and nodes (README "Try it", OpenAPI POST /v1/nodes), each agent with its own key pair.
		const signUp = async (name: string) => {
			const r = await api<{ account: { id: string }; api_key: string }>(co(), "/v1/accounts", { body: { name } });
			expect(r.status).toBe(201);
			return { id: r.body.account.id, key: r.body.api_key };
		};
		const operators = { A: await signUp("operator-a"), B: await signUp("operator-b") };
		const renter = await signUp("renter");
		const accountOf = new Map<string, string>();
		const createdAt = new Map<string, number>();
		for (const spec of NODES) {
			const me = newIdentity();
			const hardware = { gpu_model: spec.gpu_model, gpu_count: spec.gpu_count, vram_gb: 24, cpu_cores: 16, ram_gb: 64 };
			const r = await api<{ node: { id: string; created_at: string } }>(co(), "/v1/nodes", {
				auth: operators[spec.operator].key,
				body: { name: spec.name, public_key: me.publicKey, hardware },
			});
			expect(r.status).toBe(201);
			accountOf.set(r.body.node.id, operators[spec.operator].id);
			createdAt.set(r.body.node.id, Date.parse(r.body.node.created_at));
			// The backoff ceiling is lowered from 60 s to 4 s so that agents are back within seconds of each restart.
			agents.push(
				new ConformanceAgent({
					url: co().url,
					nodeId: r.body.node.id,
					privateKey: me.privateKey,
					policy: spec.policy,
					backoffCapMs: 4000,
				}),
			);
		}
		const [aH100, bH100, a4090, b4090] = agents as [
			ConformanceAgent,
			ConformanceAgent,
			ConformanceAgent,
			ConformanceAgent,
		];
		const specOf = (a: ConformanceAgent) => NODES[agents.indexOf(a)] as NodeSpec;
		for (const a of agents) a.start();
		for (const a of agents) await a.until("welcome and a first challenge result", () => a.results.length > 0, 60_000);

		// 2. Money: prices, a quote, a grant, a deploy; the members answer `ready`.
		const grant = await api(co(), "/v1/admin/credits", {
			auth: co().adminToken,
			body: { account_id: renter.id, amount_cents: 100_000 },
		});
		expect(grant.status).toBe(201);
		const order = { gpu_model: "H100", gpu_count: 8, hours: 1 };
		const prices = await api<{ prices: Price[] }>(co(), "/v1/prices");
		const quote = await api<{ quote: Quote }>(co(), "/v1/quotes", { body: order });
		const h100 = prices.body.prices.find((p) => p.gpu_model === "H100") as Price;
		const q = quote.body.quote;
		expect(quote.status).toBe(200);
		expect(q.price_per_gpu_hour_cents).toBe(h100.price_per_gpu_hour_cents);
		expect(h100.price_per_gpu_hour_cents).toBe(
			expectedPrice(h100.base_price_per_gpu_hour_cents, h100.online_gpus, h100.reserved_gpus),
		);
		expect(h100.online_gpus).toBe(8); // two WebSocket H100 nodes of four GPUs each
		expect(q.total_cents).toBe(
			Math.floor((q.price_per_gpu_hour_cents * order.gpu_count * order.hours * 3_600_000) / 3_600_000),
		);
		expect(q.hold_cents).toBe(q.total_cents);
		expect(q.fee_cents).toBe(expectedFee(q.total_cents));
		const deployed = await api<{ cluster: ClusterView }>(co(), "/v1/clusters", { auth: renter.key, body: order });
		expect(deployed.status).toBe(201);
		const cluster = deployed.body.cluster;
		expect(cluster.hold_cents).toBe(q.total_cents);
		expect(cluster.price_per_gpu_hour_cents).toBe(q.price_per_gpu_hour_cents);
		const clusterView = async () =>
			(await api<{ cluster: ClusterView }>(co(), `/v1/clusters/${cluster.id}`, { auth: renter.key })).body.cluster;
		for (const m of [aH100, bH100])
			await m.until("assign answered with ready", () => m.sent.some((s) => s.what === "ready"), 30_000);
		await until("cluster running", async () => (await clusterView()).status === "running", 30_000);

		// A node that leaves with a challenge pending (PROTOCOL: counted as missed, told nobody).
		const departed = async (mode: "after-answer" | "instead-of-answer") => {
			const before = a4090.departures.length;
			a4090.armDeparture(mode, 3000); // away 3 s: an operator's own gap, long enough to show in whole seconds
			await a4090.until(`departure ${mode}`, () => a4090.departures.length > before, 30_000);
			await a4090.until("back after the departure", () => a4090.isOpen, 30_000);
		};
		await departed("instead-of-answer");

		// 3a. SIGKILL with challenges in flight (an answer sent, its result not yet received), the cluster running.
		await until(
			"an answer on the wire without its result",
			async () =>
				agents.some((a) =>
					[...a.challenges.values()].some((ch) => ch.answer && !ch.result && Date.now() - ch.answer.at < 400),
				),
			30_000,
		);
		// One node's machine is down across this restart and misses its grace (PROTOCOL §4: offline as of its last
		// checkpointed keepalive, the gap our incident's); another closes by itself as soon as it is back, stays away 3 s,
		// and that gap is its own: one node, with a close frame, is neither a lost socket nor a mass drop.
		const beforeKill = Date.now();
		const leftOnReturn = a4090
			.until("back after the kill", () => a4090.isOpen && (a4090.connections.at(-1)?.openAt ?? 0) > beforeKill, 90_000)
			.then(() => a4090.leaveNow(3000));
		await restart("SIGKILL", `challenges in flight, cluster running, ${b4090.nodeId} held back`, { holdBack: b4090 });
		await leftOnReturn;
		await a4090.until("back after leaving", () => a4090.isOpen, 30_000);
		await sleep(4000); // clear of the restart's incident window
		await departed("after-answer");
		await sleep(3000);
		await uptimeAgrees("after the first restart");
		const settleStarted = Date.now();
		const settledMid = await settleSurely();
		const settleMs = Date.now() - settleStarted;
		expect(settledMid).toBeGreaterThan(1);

		// 3b. A stop (SIGTERM, the graceful path) while the cluster runs, then a crash as soon as the first node is
		// back: while that restart's incident is still open (it closes once drops stop for a keepalive interval plus two
		// sweeps). The incident must still end.
		await sleep(4000);
		await restart("SIGTERM", `cluster ${(await clusterView()).status}`, { firstBackOnly: true });
		await restart("SIGKILL", "as soon as the first node was back");
		await sleep(3000);

		// 3c. Killed right after asking the admin to settle; a later call resumes the interrupted settlement.
		let interrupted: Promise<unknown> | undefined;
		await restart("SIGKILL", `${Math.round(settleMs / 2)} ms after asking to settle`, {
			before: async () => {
				interrupted = settle().catch((e: unknown) => e);
				// Half the time the earlier settlement took: the kill should land inside this one.
				await sleep(settleMs / 2);
			},
		});
		const got = await interrupted;
		const lastRestart = restarts.at(-1);
		if (lastRestart) lastRestart.why += ` (that call got ${got instanceof Error ? got.message : JSON.stringify(got)})`;
		await sleep(2000);
		await settleSurely();

		// 4. Terminate the cluster; the members still holding it are released.
		await sleep(3000);
		const terminatedAt = Date.now();
		const ended = await api<{ cluster: ClusterView }>(co(), `/v1/clusters/${cluster.id}`, {
			method: "DELETE",
			auth: renter.key,
		});
		expect(ended.status).toBe(200);
		await sleep(3000);
		await uptimeAgrees("before the agents leave");
		for (const a of agents) await a.bye();
		// Let every challenge pending at the `bye` reach its deadline and a sweep record it before the last settlement.
		await sleep((Number(E2E_VARS.CHALLENGE_TIMEOUT_S) + 3) * 1000);
		const openCounts = await openEpochCounts();
		const lastEpoch = await settleSurely();
		await uptimeAgrees("after the agents left");

		// 5. Compare.
		const epochs: EpochView[] = [];
		for (let n = 1; n <= lastEpoch; n++) epochs.push((await api<EpochView>(co(), `/v1/epochs/${n}`)).body);
		const problems = {
			challenges: [] as string[],
			outcomes: [] as string[],
			invariants: [] as string[],
			merkle: [] as string[],
			points: [] as string[],
			rewards: [] as string[],
			lastSeen: [] as string[],
			keepalive: [] as string[],
			openEpoch: [] as string[],
			epochs: [] as string[],
			credited: [] as string[],
			incidents: [] as string[],
			rented: [] as string[],
			messages: [] as string[],
			billing: [] as string[],
		};
		const epochAt = (t: number): number => {
			const e = epochs.find((e) => Date.parse(e.started_at) <= t && t < Date.parse(e.ended_at ?? "9999"));
			return e ? e.epoch : lastEpoch + 1;
		};

		// Per node and epoch: the told tally plus the documented untold cases.
		const expected = new Map<string, { passed: number; failed: number; missed: number }>();
		const bump = (node: string, epoch: number, outcome: string) => {
			const k = `${node}#${epoch}`;
			const t = expected.get(k) ?? { passed: 0, failed: 0, missed: 0 };
			t[outcome as "passed"]++;
			expected.set(k, t);
		};
		for (const a of agents) {
			const ids = new Set<string>();
			for (const r of a.results) {
				if (ids.has(r.id)) problems.outcomes.push(`${a.nodeId}: result ${r.id} told twice`);
				ids.add(r.id);
				const ch = a.challenges.get(r.id);
				if (!ch) problems.outcomes.push(`${a.nodeId}: result for ${r.id}, a challenge it never received`);
				else if (r.outcome !== outcomeFor(ch) || r.passed !== (r.outcome === "passed"))
					problems.outcomes.push(
						`${a.nodeId}: ${r.id} told ${r.outcome}/passed=${r.passed}, but the agent ` +
							(ch.answer ? `answered ${ch.answer.right ? "right" : "wrong"} ` : "did not answer ") +
							`(challenge on connection ${ch.conn}, result on ${r.conn})`,
					);
				bump(a.nodeId, r.epoch, r.outcome);
			}
			for (const u of untoldButCounted(a)) bump(a.nodeId, epochAt(u.at), u.outcome);
		}

		const rows: Proof[] = [];
		for (const e of epochs.filter((e) => e.status === "settled")) {
			const epochSeconds = (Date.parse(e.ended_at as string) - Date.parse(e.started_at)) / 1000;
			const mine: Proof[] = [];
			for (const a of agents) {
				const p = await api<Proof>(co(), `/v1/epochs/${e.epoch}/proof/${a.nodeId}`);
				// POINTS.md: a row for every node created before the epoch's end; a node that did not exist has none (404).
				const existed = (createdAt.get(a.nodeId) ?? 0) < Date.parse(e.ended_at as string);
				if (p.status !== (existed ? 200 : 404))
					problems.merkle.push(
						`epoch ${e.epoch}: ${a.nodeId} ${existed ? "existed" : "did not exist"}, proof ${p.status}`,
					);
				if (p.status !== 200) {
					if (expected.has(`${a.nodeId}#${e.epoch}`))
						problems.challenges.push(`epoch ${e.epoch}: ${a.nodeId} has no row, the agent counted challenges in it`);
					continue;
				}
				mine.push(p.body);
				const row = p.body.leaf;
				const at = `epoch ${e.epoch} ${a.nodeId} (${a.policy})`;
				const want = expected.get(`${a.nodeId}#${e.epoch}`) ?? { passed: 0, failed: 0, missed: 0 };
				const got = {
					passed: row.challenges_passed as number,
					failed: row.challenges_failed as number,
					missed: row.challenges_missed as number,
				};
				if (JSON.stringify(got) !== JSON.stringify(want))
					problems.challenges.push(`${at}: ledger ${JSON.stringify(got)}, agent's tally ${JSON.stringify(want)}`);
				if (row.challenges_issued !== want.passed + want.failed + want.missed)
					problems.challenges.push(`${at}: issued ${row.challenges_issued}, told + documented untold differ`);
				for (const b of rowInvariantBreaks(row, epochSeconds)) problems.invariants.push(`${at}: ${b}`);
				const hash = leafHash(encodeLeaf(row));
				if (hash !== p.body.leaf_hash)
					problems.merkle.push(`${at}: leaf hashes to ${hash}, API says ${p.body.leaf_hash}`);
				if (foldProof(hash, p.body.proof) !== e.root)
					problems.merkle.push(`${at}: proof does not reach root ${e.root}`);
				if (row.leaf_version !== 3) problems.merkle.push(`${at}: leaf_version ${row.leaf_version}, new rows are 3`);
				for (const b of derivedTermBreaks(row)) problems.points.push(`${at}: ${b}`);
				const terms = recomputePoints(row);
				for (const [k, v] of Object.entries(terms))
					if (row[k as keyof Leaf] !== v)
						problems.points.push(`${at}: ${k} ${row[k as keyof Leaf]}, formula gives ${v}`);
				const tier = tierOf(String(row.gpu_model));
				if (row.tier !== tier.tier || row.tier_weight_bp !== tier.bp)
					problems.points.push(`${at}: tier ${row.tier}/${row.tier_weight_bp}, table gives ${tier.tier}/${tier.bp}`);
				if (row.gpu_count !== specOf(a).gpu_count || row.gpu_model !== specOf(a).gpu_model)
					problems.points.push(`${at}: claims ${row.gpu_count} × ${row.gpu_model}, registered otherwise`);
				if (row.account_id !== accountOf.get(a.nodeId)) problems.points.push(`${at}: account ${row.account_id}`);
			}
			rows.push(...mine);
			// Every node of this coordinator is one of ours, so the whole tree can be rebuilt and the rewards summed.
			if (e.nodes !== mine.length)
				problems.merkle.push(`epoch ${e.epoch}: ${e.nodes} rows published, ours ${mine.length}`);
			const root = merkleRoot(
				mine.map((p) => ({ node_id: String(p.leaf.node_id), hash: leafHash(encodeLeaf(p.leaf)) })),
			);
			if (root !== e.root) problems.merkle.push(`epoch ${e.epoch}: rebuilt root ${root}, published ${e.root}`);
			const total = mine.reduce((s, p) => s + (p.leaf.points as number), 0);
			if (total !== e.total_points)
				problems.rewards.push(`epoch ${e.epoch}: Σ points ${total}, published ${e.total_points}`);
			const emission = e.emission ?? 0;
			let rewards = 0;
			for (const p of mine) {
				rewards += p.leaf.reward as number;
				const r = expectedReward(emission, p.leaf.points as number, total);
				if (p.leaf.reward !== r)
					problems.rewards.push(`epoch ${e.epoch} ${p.leaf.node_id}: reward ${p.leaf.reward} ≠ ${r}`);
			}
			const earners = mine.filter((p) => (p.leaf.points as number) > 0).length;
			if (total > 0 && (rewards > emission || rewards < emission - Math.max(0, earners - 1)))
				problems.rewards.push(
					`epoch ${e.epoch}: Σ reward ${rewards} outside [emission − (k − 1), emission] (${emission})`,
				);
		}
		// No result may name an epoch the ledger never settled.
		for (const k of expected.keys()) {
			const epoch = Number(k.split("#")[1]);
			if (epoch > lastEpoch) problems.challenges.push(`${k}: counted in epoch ${epoch}, after the last settled one`);
		}
		// The open epoch's public counts, read with every agent gone: what the row will count (nothing new can come).
		for (const a of agents) {
			const want = expected.get(`${a.nodeId}#${lastEpoch}`) ?? { passed: 0, failed: 0, missed: 0 };
			const got = openCounts.get(a.nodeId);
			const wantIssued = { issued: want.passed + want.failed + want.missed, ...want };
			if (JSON.stringify(got) !== JSON.stringify(wantIssued))
				problems.openEpoch.push(
					`${a.nodeId}: GET /v1/nodes challenges ${JSON.stringify(got)}, tally ${JSON.stringify(wantIssued)}`,
				);
		}

		const flipsOf = new Map<string, Flip[]>();
		const heardBy: Record<string, number> = {};
		let heardLagMs = 0;
		// last_seen_at: every flip's is a moment this node was heard (a frame it sent, or a connect).
		for (const a of agents) {
			const { body } = await api<{ flips: Flip[] }>(co(), `/v1/nodes/${a.nodeId}/flips?limit=500`);
			flipsOf.set(a.nodeId, body.flips);
			const node = (await api<{ node: { last_seen_at: string | null } }>(co(), `/v1/nodes/${a.nodeId}`)).body.node;
			const stamps = [
				...body.flips.map((f) => ({
					what: `flip ${f.from}→${f.to} (${f.reason}) at ${f.at}`,
					seen: f.last_seen_at,
					f,
				})),
				{ what: "the node's last_seen_at", seen: node.last_seen_at, f: undefined },
			];
			// PROTOCOL §4: incidents are a restart's lost sockets or a mass drop; this test's own closes are one node at a
			// time (below INCIDENT_MIN_NODES) or a `bye`, so none of its `disconnected` flips is ours.
			for (const f of body.flips.filter((f) => f.reason === "disconnected" && f.incident_id !== null))
				problems.incidents.push(`${a.nodeId}: its own close at ${f.at} stamped with incident ${f.incident_id}`);
			for (const { what, seen, f } of stamps) {
				if (seen === null) continue;
				const t = Date.parse(seen);
				// The frame (or connect) this stamp is: the latest one sent at or before it, within the latency allowed.
				const candidates = [
					...a.sent.map((s) => ({ kind: s.what, from: s.at, to: s.at })),
					...a.connections
						.filter((cn) => cn.openAt !== undefined)
						.map((cn) => ({ kind: "connect", from: cn.attemptAt, to: cn.openAt as number })),
				].filter((x) => x.from - CLOCK_SLACK_MS <= t && t <= x.to + HEARD_LATENCY_MS);
				const match = candidates.sort((x, y) => y.from - x.from)[0];
				if (match) {
					heardBy[match.kind] = (heardBy[match.kind] ?? 0) + 1;
					heardLagMs = Math.max(heardLagMs, t - match.to);
				} else {
					const near = [...a.sent.map((s) => s.at), ...a.connections.map((cn) => cn.attemptAt)].sort(
						(x, y) => Math.abs(x - t) - Math.abs(y - t),
					)[0];
					problems.lastSeen.push(
						`${a.nodeId} ${what}: last_seen_at ${seen} is ${t - (near ?? 0)} ms from any frame sent`,
					);
				}
				if (f && t > Date.parse(f.at)) problems.lastSeen.push(`${a.nodeId} ${what}: last seen after the flip`);
				// PROTOCOL §4: after a restart a node is last seen at its checkpointed keepalive, ≤ CHECKPOINT_S before it.
				if (f && f.reason === "coordinator_restart") {
					const r = restarts.filter((r) => r.at >= t).sort((x, y) => x.at - y.at)[0];
					const lastSent = r ? Math.max(...a.sent.filter((s) => s.at < r.at).map((s) => s.at)) : t;
					if (lastSent - t > CHECKPOINT_MS + HEARD_LATENCY_MS)
						problems.lastSeen.push(
							`${a.nodeId} ${what}: last seen ${lastSent - t} ms before its last frame before the restart ` +
								`(at most CHECKPOINT_S = ${CHECKPOINT_MS} ms)`,
						);
				}
			}
			// Keepalives: the welcome's interval, and one `pong` per `ping` (the last one or two may be cut by a close).
			for (const cn of a.connections.filter((cn) => cn.welcome)) {
				const w = cn.welcome as NonNullable<typeof cn.welcome>;
				if (w.heartbeat_interval_s !== 1 || w.offline_after_s !== 4 || w.node_id !== a.nodeId)
					problems.keepalive.push(`${a.nodeId} connection ${cn.n}: welcome ${JSON.stringify(w)}`);
				const pings = a.sent.filter((s) => s.conn === cn.n && s.what === "ping").length;
				const pongs = a.pongs.filter((p) => p.conn === cn.n).length;
				if (pongs > pings || pings - pongs > 2)
					problems.keepalive.push(`${a.nodeId} connection ${cn.n}: ${pings} pings, ${pongs} pongs`);
			}
			// The only server-side closes the test causes are its own restarts.
			for (const cn of a.connections.filter((cn) => cn.openAt && cn.closedBy === "server")) {
				const near = restarts.some((r) => Math.abs((cn.closedAt ?? 0) - r.at) < 5000);
				if (!near) problems.keepalive.push(`${a.nodeId} connection ${cn.n} closed by the server (${cn.closeCode})`);
			}
		}

		// Epochs: each starts exactly when the previous one ends (POINTS.md "Epochs").
		for (const [i, e] of epochs.entries())
			if (i > 0 && e.started_at !== epochs[i - 1]?.ended_at)
				problems.epochs.push(
					`epoch ${e.epoch} starts ${e.started_at}, epoch ${e.epoch - 1} ended ${epochs[i - 1]?.ended_at}`,
				);

		// Credited time (online + incident) is the epoch less the node's own absences: before its first connect, after
		// a close of its own until it was back, after its bye. Our outages (restarts) are credited either way. Bounds:
		// the coordinator's view of an absence lies between the agent's close sent … next open and its close done …
		// next attempt; below, one second per online stretch for whole-second rounding.
		for (const a of agents) {
			const opened = a.connections.filter((cn) => cn.openAt !== undefined);
			const own = (wide: boolean): [number, number][] => {
				const first = opened[0] as (typeof opened)[number];
				const out: [number, number][] = [[0, wide ? (first.openAt as number) : first.attemptAt]];
				for (const [i, cn] of opened.entries()) {
					if (cn.closedBy !== "agent" || cn.closeCode === 1006) continue;
					const closeSent = a.sent.find((x) => x.conn === cn.n && (x.what === "close" || x.what === "bye"))?.at;
					const next = opened[i + 1];
					out.push([
						wide ? (closeSent ?? (cn.closedAt as number)) : (cn.closedAt as number),
						next ? (wide ? (next.openAt as number) : next.attemptAt) : Number.POSITIVE_INFINITY,
					]);
				}
				return out;
			};
			for (const row of rows.filter((p) => p.leaf.node_id === a.nodeId)) {
				const e = epochs.find((e) => e.epoch === row.leaf.epoch) as EpochView;
				const [from, to] = [Date.parse(e.started_at), Date.parse(e.ended_at as string)];
				const overlap = (spans: [number, number][]) =>
					spans.reduce((sum, [x, y]) => sum + Math.max(0, Math.min(y, to) - Math.max(x, from)), 0) / 1000;
				const len = (to - from) / 1000;
				const credited = (row.leaf.online_seconds as number) + (row.leaf.incident_seconds as number);
				const stretches = opened.filter((cn) => (cn.openAt as number) < to && (cn.closedAt ?? to) > from).length;
				const most = len - overlap(own(false));
				const least = len - overlap(own(true)) - stretches - 1;
				if (credited > most + 0.5 || credited < least)
					problems.credited.push(
						`epoch ${e.epoch} ${a.nodeId} (${a.policy}): online ${row.leaf.online_seconds} + incident ` +
							`${row.leaf.incident_seconds} = ${credited} s, its own absences leave ${least.toFixed(2)}–${most.toFixed(2)} s`,
					);
			}
		}

		// Incidents: one per restart (any socket lost opens one), from the shard's last checkpoint (≤ CHECKPOINT_S before
		// the kill), affecting the nodes connected then; and no other (this test never drops half its nodes at once).
		const incidents = (
			await api<{
				incidents: {
					id: string;
					reason: string;
					started_at: string;
					ended_at: string | null;
					nodes_affected: number;
				}[];
			}>(co(), "/v1/incidents")
		).body.incidents;
		for (const r of restarts) {
			const mine = incidents.filter(
				(i) =>
					i.reason === "coordinator_restart" &&
					Date.parse(i.started_at) <= r.at &&
					Date.parse(i.started_at) >= r.at - CHECKPOINT_MS - HEARD_LATENCY_MS,
			);
			// Affected: at least the sockets open at the kill; a node still inside an earlier restart's grace (stored
			// online, not back yet) may count again — the docs do not say, so only the bounds are held.
			const affected = mine[0]?.nodes_affected ?? -1;
			if (mine.length !== 1 || affected < r.connected || affected > agents.length)
				problems.incidents.push(
					`restart at ${iso(r.at)} (${r.connected} connected): incidents ${JSON.stringify(mine)} ` +
						`(all: ${incidents.map((i) => `${i.reason} ${i.started_at.slice(11, 23)}`).join(", ")})`,
				);
		}
		// Every outage here is over (every node back, the coordinator up for longer than offline_after_s plus the
		// incident window), so every incident has ended: POINTS.md credits incident time up to an incident's end.
		for (const i of incidents.filter((i) => i.ended_at === null))
			problems.incidents.push(`incident ${i.id} (${i.reason}, from ${i.started_at}) never ended`);
		if (incidents.length !== restarts.length)
			problems.incidents.push(`${incidents.length} incidents for ${restarts.length} restarts and no mass drop`);

		// Billing: every step balances, the renter never pays past the hold, operators' payouts add up.
		const final = await clusterView();
		const bills = {
			renter: (await api<Billing>(co(), "/v1/billing", { auth: renter.key })).body,
			A: (await api<Billing>(co(), "/v1/billing", { auth: operators.A.key })).body,
			B: (await api<Billing>(co(), "/v1/billing", { auth: operators.B.key })).body,
		};
		const steps = bills.renter.fees.steps.filter((s) => s.cluster_id === cluster.id);
		for (const s of steps) {
			if (s.charge_cents !== s.payouts_cents + s.fee_cents)
				problems.billing.push(
					`step ${s.step}: charge ${s.charge_cents} ≠ payouts ${s.payouts_cents} + fee ${s.fee_cents}`,
				);
			const paid = bills.A.fees.steps
				.concat(bills.B.fees.steps)
				.filter((o) => o.cluster_id === cluster.id && o.step === s.step)
				.reduce((sum, o) => sum + o.paid_to_you_cents, 0);
			if (paid !== s.payouts_cents)
				problems.billing.push(`step ${s.step}: operators got ${paid}, payouts ${s.payouts_cents}`);
		}
		const charged = steps.reduce((sum, s) => sum + s.charge_cents, 0);
		const fees = steps.reduce((sum, s) => sum + s.fee_cents, 0);
		if (charged !== final.charged_cents)
			problems.billing.push(`Σ step charges ${charged}, cluster ${final.charged_cents}`);
		if (charged > final.hold_cents) problems.billing.push(`charged ${charged} > hold ${final.hold_cents}`);
		if (final.charged_cents + final.refunded_cents !== final.hold_cents)
			problems.billing.push(
				`charged ${final.charged_cents} + refunded ${final.refunded_cents} ≠ hold ${final.hold_cents}`,
			);
		if (fees !== expectedFee(charged))
			problems.billing.push(`Σ fees ${fees}, total − floor(95 %) gives ${expectedFee(charged)}`);
		const r = bills.renter.fees.as_renter;
		if (r.charges_cents !== r.payouts_cents + r.fees_cents || r.charges_cents !== charged)
			problems.billing.push(`as_renter ${JSON.stringify(r)} (steps charge ${charged})`);
		const ownSum = (b: Billing, kind: string) =>
			b.entries
				.filter((e) => e.kind === kind && e.cluster_id === cluster.id)
				.reduce((s, e) => s + e.available_delta_cents + e.held_delta_cents, 0);
		if (-ownSum(bills.renter, "charge") !== charged)
			problems.billing.push(`renter's charge entries ${ownSum(bills.renter, "charge")}`);
		if (bills.renter.held_cents !== 0 || bills.renter.available_cents !== 100_000 - final.charged_cents)
			problems.billing.push(`renter balances ${bills.renter.available_cents}/${bills.renter.held_cents}`);
		for (const op of ["A", "B"] as const) {
			const b = bills[op];
			const viaSteps = b.fees.steps
				.filter((s) => s.cluster_id === cluster.id)
				.reduce((s, x) => s + x.paid_to_you_cents, 0);
			if (ownSum(b, "payout") !== viaSteps || b.fees.as_operator.payouts_cents !== viaSteps)
				problems.billing.push(
					`operator ${op}: payout entries ${ownSum(b, "payout")}, steps ${viaSteps}, ${JSON.stringify(b.fees.as_operator)}`,
				);
		}

		// Rented time: each member's rows add up to its membership (ready → end) × its GPUs, less under a second per
		// stretch (whole seconds per stretch, POINTS.md); and the renter is billed for that same time (README "Money").
		let deliveredMs = 0;
		for (const m of final.nodes.filter((n) => n.ready_at)) {
			const spanMs = Date.parse(m.ended_at as string) - Date.parse(m.ready_at as string);
			deliveredMs += spanMs * m.gpu_count;
			const memberRows = rows.filter((p) => p.leaf.node_id === m.node_id);
			const rented = memberRows.reduce((sum, p) => sum + (p.leaf.rented_gpu_seconds as number), 0);
			const stretches = memberRows.filter((p) => (p.leaf.rented_gpu_seconds as number) > 0).length + restarts.length;
			if (rented > (spanMs / 1000) * m.gpu_count || rented < (spanMs / 1000 - stretches) * m.gpu_count)
				problems.rented.push(
					`${m.node_id}: ledger rents ${rented} GPU-s, membership ${spanMs} ms × ${m.gpu_count} GPUs ` +
						`(${stretches} stretches)`,
				);
		}
		for (const a of agents.filter((a) => !final.nodes.some((n) => n.node_id === a.nodeId)))
			for (const p of rows.filter((p) => p.leaf.node_id === a.nodeId && (p.leaf.rented_gpu_seconds as number) > 0))
				problems.rented.push(`${a.nodeId} never rented, yet epoch ${p.epoch} rents ${p.leaf.rented_gpu_seconds}`);
		const billedFor = Math.floor((final.price_per_gpu_hour_cents * deliveredMs) / 3_600_000);
		if (final.charged_cents !== billedFor)
			problems.billing.push(
				`charged ${final.charged_cents}, members delivered ${deliveredMs / 1000} GPU-s at ` +
					`${final.price_per_gpu_hour_cents} ¢/GPU-h = ${billedFor}`,
			);

		// Messages: `assign` as documented (peers include the node, its GPUs, the term), `release` after the terminate,
		// and each result naming the epoch open when it was told — or, within a few seconds of a boundary, a neighbour
		// (PROTOCOL §2: the shard closes its epoch seconds after the epoch ends).
		const timings = { resultAfterAnswerMs: 0, resultAfterDeadlineMs: 0, deadlineAfterReceiptMs: [1e9, 0] };
		for (const a of agents) {
			const member = final.nodes.some((n) => n.node_id === a.nodeId);
			const assigns = a.received.filter((r) => r.type === "assign").map((r) => r.msg as Record<string, unknown>);
			for (const m of assigns)
				if (
					m.cluster_id !== cluster.id ||
					!(m.peers as string[]).includes(a.nodeId) ||
					m.gpu_count !== specOf(a).gpu_count ||
					m.duration_s !== order.hours * 3600
				)
					problems.messages.push(`${a.nodeId}: assign ${JSON.stringify(m)}`);
			if (member !== assigns.length > 0)
				problems.messages.push(`${a.nodeId}: member ${member}, ${assigns.length} assigns`);
			const releases = a.received.filter((r) => r.type === "release" && r.at >= terminatedAt);
			if (member && releases.length === 0) problems.messages.push(`${a.nodeId}: no release after the terminate`);
			for (const r of a.received.filter((r) => r.type === "error"))
				problems.messages.push(`${a.nodeId}: error ${JSON.stringify(r.msg)}`);
			for (const r of a.results) {
				const open = epochAt(r.at);
				const nearBoundary = epochs.some((e) => e.ended_at && Math.abs(Date.parse(e.ended_at) - r.at) < 5000);
				if (r.epoch !== open && !(nearBoundary && Math.abs(r.epoch - open) === 1))
					problems.messages.push(
						`${a.nodeId}: result ${r.id} told at ${iso(r.at)} names epoch ${r.epoch}, open: ${open}`,
					);
				const ch = a.challenges.get(r.id);
				if (!ch || ch.conn !== r.conn) continue;
				if (ch.answer) timings.resultAfterAnswerMs = Math.max(timings.resultAfterAnswerMs, r.at - ch.answer.at);
				else timings.resultAfterDeadlineMs = Math.max(timings.resultAfterDeadlineMs, r.at - ch.deadline);
			}
			for (const ch of a.challenges.values()) {
				const d = ch.deadline - ch.receivedAt;
				timings.deadlineAfterReceiptMs = [
					Math.min(timings.deadlineAfterReceiptMs[0] as number, d),
					Math.max(timings.deadlineAfterReceiptMs[1] as number, d),
				];
			}
		}

		const report = {
			restarts: restarts.map((r) => ({
				...r,
				// What became of the answers on the wire at the kill: told later, or void (PROTOCOL §2).
				inFlight: r.inFlight.map((k) => {
					const [node, id] = k.split("/") as [string, string];
					const told = agents.find((a) => a.nodeId === node)?.challenges.get(id)?.result;
					return `${k}: ${told ? `told ${told.outcome} in epoch ${told.epoch}` : "void"}`;
				}),
			})),
			timings: { ...timings, lastSeenMatchedBy: heardBy, lastSeenLatestAfterItsFrameMs: heardLagMs },
			incidents: incidents.map((i) => `${i.id} ${i.reason} ${i.started_at} → ${i.ended_at} (${i.nodes_affected})`),
			epochs: epochs.map((e) => `${e.epoch}: ${e.status} ${e.started_at} → ${e.ended_at}`),
			cluster: { status: final.status, hold: final.hold_cents, charged: final.charged_cents, steps: steps.length },
			agents: agents.map((a) => ({
				node: a.nodeId,
				policy: a.policy,
				connections: a.connections
					.filter((cn) => cn.openAt)
					.map((cn) => `${cn.n} ${iso(cn.openAt)}→${iso(cn.closedAt)} ${cn.closedBy} ${cn.closeCode} ${cn.why ?? ""}`),
				departures: a.departures.map((d) => `${iso(d.at)} ${d.mode} ${d.challenge}`),
				flips: flipsOf
					.get(a.nodeId)
					?.map(
						(f) =>
							`${f.at.slice(11, 23)} ${f.from}→${f.to} ${f.reason} seen ${f.last_seen_at?.slice(11, 23)} ${f.incident_id}`,
					),
				challenges: a.challenges.size,
				told: a.results.length,
				untoldCounted: untoldButCounted(a).map((u) => `${u.ch.id}:${u.outcome} conn ${u.ch.conn} left ${iso(u.at)}`),
				rows: rows.filter((p) => p.leaf.node_id === a.nodeId).map((p) => encodeLeaf(p.leaf)),
			})),
		};
		console.log(JSON.stringify(report, null, 1));
		for (const [what, list] of Object.entries(problems)) expect.soft(list, what).toEqual([]);
	}, 300_000);
});

/** GET /v1/nodes/{id} `challenges` (the open epoch's counts) for every agent. */
async function openEpochCounts(): Promise<Map<string, unknown>> {
	const out = new Map<string, unknown>();
	for (const a of agents) {
		const { body } = await api<{ node: { challenges: unknown } }>(co(), `/v1/nodes/${a.nodeId}`);
		out.set(a.nodeId, body.node.challenges);
	}
	return out;
}

/**
 * `uptime_24h` on the node equals `ratio` of its uptime route read right after. Between the two reads the ratio can
 * move by at most (seconds between the reads) ÷ (seconds measured), since the credited time grows by at most one second
 * a second; each figure is rounded to 4 decimals, so 0.0001 more.
 */
async function uptimeAgrees(when: string): Promise<void> {
	for (const a of agents) {
		const t0 = Date.now();
		const node = (await api<{ node: { uptime_24h: number } }>(co(), `/v1/nodes/${a.nodeId}`)).body.node;
		const up = (
			await api<{ ratio: number; measured_from: string; measured_to: string }>(co(), `/v1/nodes/${a.nodeId}/uptime`)
		).body;
		const t1 = Date.now();
		const span = (Date.parse(up.measured_to) - Date.parse(up.measured_from)) / 1000;
		const tolerance = (t1 - t0) / 1000 / span + 0.0001;
		expect
			.soft(
				Math.abs(node.uptime_24h - up.ratio),
				`${when}: ${a.nodeId} uptime_24h ${node.uptime_24h} vs ratio ${up.ratio}`,
			)
			.toBeLessThanOrEqual(tolerance + 1e-9);
	}
}
