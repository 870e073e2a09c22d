// The alert goals of issue 6 (DESIGN §6): a local fake Bot API, operators' chats linked through the bot, silent death
// → alert latency, and a storm of drops.
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { stripVTControlCharacters } from "node:util";
import { BOT_TOKEN, WEBHOOK_SECRET, telegramUpdate } from "../test/e2e/alert-support.ts";
import type { FakeMessage, FakeRequest, FakeState } from "../test/fakes/bot-api-types.ts";
import type { BenchAccount } from "./api.ts";
import { wrongFlips } from "./detection.ts";
import type { FlipReader, FlipRow, IncidentRow } from "./flips.ts";
import type { Fleet, SimNode } from "./fleet.ts";
import { summarize, type Summary } from "./stats.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- The fake Bot API, in a process of its own ---

export interface FakeBotApiProcess {
	url: string;
	pid: number;
	/** Everything the fake recorded so far (its /__fake/messages control endpoint). */
	state(): Promise<FakeState>;
	stop(): Promise<void>;
}

/**
 * Starts test/fakes/bot-api.ts in a child process (bench/bot-api-child.ts): its receive timestamps do not wait on the
 * simulator's event loop.
 */
export async function startFakeBotApiProcess(): Promise<FakeBotApiProcess> {
	const child = spawn(process.execPath, [new URL("./bot-api-child.ts", import.meta.url).pathname], {
		stdio: ["pipe", "pipe", "inherit"],
	});
	const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
	const stop = async () => {
		if (child.exitCode !== null || child.signalCode !== null) return;
		child.kill("SIGTERM");
		await Promise.race([exited, sleep(5000)]);
		if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
	};
	try {
		const url = await new Promise<string>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error("the fake Bot API did not start within 15 s")), 15_000);
			createInterface({ input: child.stdout }).once("line", (line) => {
				clearTimeout(timer);
				try {
					resolve((JSON.parse(line) as { url: string }).url);
				} catch {
					reject(new Error(`the fake Bot API printed '${line.slice(0, 200)}' instead of its address`));
				}
			});
			child.once("exit", (code, signal) => {
				clearTimeout(timer);
				reject(new Error(`the fake Bot API exited (${code ?? signal}) before it listened`));
			});
		});
		return {
			url,
			pid: child.pid as number,
			stop,
			async state() {
				const res = await fetch(`${url}/__fake/messages`, { signal: AbortSignal.timeout(30_000) });
				if (!res.ok) throw new Error(`the fake Bot API answered ${res.status} to /__fake/messages`);
				return (await res.json()) as FakeState;
			},
		};
	} catch (err) {
		await stop();
		throw err;
	}
}

/**
 * Where the coordinator's bot and alert transports talk (the fake) and the bot's credentials: the outside world, none
 * of the coordinator's settings.
 */
export function alertVars(fakeUrl: string): Record<string, string> {
	return {
		TELEGRAM_API_ROOT: fakeUrl,
		DISCORD_API_ROOT: fakeUrl,
		TELEGRAM_BOT_TOKEN: BOT_TOKEN,
		TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
	};
}

// --- Linking every operator to a Telegram chat ---

export const FIRST_CHAT = 9_100_000;

export interface LinkedChats {
	/** Chat id of each account, by account index. */
	chats: number[];
	seconds: number;
	/** When linking was done: the bot's own replies before this are not alert traffic. */
	at: number;
	violationsBefore: number;
}

/**
 * As test/e2e/alert-support.ts does: POST /v1/links for the account, then the update "/start <code>" from
 * the chat to /telegram/webhook with the secret header (its `telegramUpdate`), and the bot's ✅ reply at the
 * fake. One chat at a time, so the bench's own sign-up burst is not what tests Telegram's limits.
 */
export async function linkChats(
	baseUrl: string,
	accounts: BenchAccount[],
	fake: FakeBotApiProcess,
): Promise<LinkedChats> {
	const t0 = Date.now();
	const chats = accounts.map((_, i) => FIRST_CHAT + i);
	for (const [i, a] of accounts.entries()) {
		const res = await fetch(`${baseUrl}/v1/links`, {
			method: "POST",
			body: "{}",
			signal: AbortSignal.timeout(30_000),
			headers: { "content-type": "application/json", authorization: `Bearer ${a.apiKey}` },
		});
		const j = (await res.json().catch(() => ({}))) as { code?: string };
		if (res.status !== 201 || !j.code) throw new Error(`POST /v1/links for account ${i} answered ${res.status}`);
		const status = await telegramUpdate({ url: baseUrl }, chats[i] as number, `/start ${j.code}`);
		if (status !== 200)
			throw new Error(`/telegram/webhook answered ${status} to "/start <code>" from chat ${chats[i]}`);
	}
	const st = await fake.state();
	const replyTo = (chat: number) => st.messages.filter((m) => m.dest === `tg:${chat}`).at(-1)?.text ?? "(no reply)";
	const failed = chats.filter((c) => !replyTo(c).startsWith("✅"));
	if (failed.length)
		throw new Error(
			`${failed.length} of ${chats.length} chats were not linked; ` +
				`chat ${failed[0]} was told: ${replyTo(failed[0] as number).slice(0, 200)}`,
		);
	return { chats, seconds: (Date.now() - t0) / 1000, at: Date.now(), violationsBefore: st.violations.length };
}

// --- Reading alert messages ---

/** A 🔴 offline or ⚠️ incident section of an alert, as workers/domain/alert-text.ts renders it. */
export interface AlertSection {
	kind: "down" | "incident";
	/** The count in its heading. */
	count: number;
	/** Names on its "• name …" lines (a clipped last line reads as a name that is no node's). */
	names: string[];
}

const DOWN_HEAD = /^🔴 (\d+) nodes? offline/;
const INCIDENT_HEAD = /^⚠️ pulsegrid incident on our side: (\d+) of your nodes/;
const OTHER_HEAD = /^(🟢|🟠|🔵|🔔)/u;
const BULLET = /^• (.+?)(?: — .*)?$/;

export function alertSections(text: string): AlertSection[] {
	const out: AlertSection[] = [];
	let cur: AlertSection | null = null;
	for (const line of text.split("\n")) {
		const head = DOWN_HEAD.exec(line) ?? INCIDENT_HEAD.exec(line);
		if (head) {
			cur = { kind: DOWN_HEAD.test(line) ? "down" : "incident", count: Number(head[1]), names: [] };
			out.push(cur);
		} else if (OTHER_HEAD.test(line)) {
			cur = null;
		} else if (cur) {
			const b = BULLET.exec(line);
			if (b) cur.names.push(b[1] as string);
		}
	}
	return out;
}

/** Who a node is to the alert pipeline: its registered name and its operator (account index). */
export interface NodeInfo {
	name: string;
	account: number;
}

/** Accepted sendMessage/editMessageText requests to Telegram chats at or after `since`, oldest first. */
function accepted(requests: FakeRequest[], since: number): FakeRequest[] {
	return requests.filter(
		(r) =>
			r.status === 200 &&
			r.dest.startsWith("tg:") &&
			(r.method === "sendMessage" || r.method === "editMessageText") &&
			r.at >= since,
	);
}

/** The first accepted request to `dest` at or after `since` whose text names `name` in a 🔴 or ⚠️ section. */
function firstNaming(
	reqs: FakeRequest[],
	dest: string,
	name: string,
	since: number,
	parsed: Map<FakeRequest, AlertSection[]>,
): FakeRequest | null {
	for (const r of reqs) {
		if (r.dest !== dest || r.at < since) continue;
		let s = parsed.get(r);
		if (!s) parsed.set(r, (s = alertSections(r.text)));
		if (s.some((x) => x.names.includes(name))) return r;
	}
	return null;
}

// --- (a) silent death → alert at the fake ---

export interface SilentAlerts {
	count: number;
	alerted: number;
	neverAlerted: string[];
	/** Fake's receive time of the first request naming the node − the moment it went silent (s). */
	latencyS: Summary;
	/** The same − the node's online→offline flip in D1: the alert pipeline's own share (s). */
	afterFlipS: Summary;
	/** First named in an edit of an alert already sent (Telegram does not notify on edits). */
	byEdit: number;
}

export function silentDeathAlerts(
	nodes: SimNode[],
	info: Map<string, NodeInfo>,
	chats: number[],
	st: FakeState,
	flips: FlipRow[],
): SilentAlerts {
	const reqs = accepted(st.requests, 0);
	const parsed = new Map<FakeRequest, AlertSection[]>();
	const lat: number[] = [];
	const afterFlip: number[] = [];
	const never: string[] = [];
	let byEdit = 0;
	for (const n of nodes) {
		const who = info.get(n.id) as NodeInfo;
		const since = n.silentAt as number;
		const r = firstNaming(reqs, `tg:${chats[who.account]}`, who.name, since, parsed);
		if (!r) {
			never.push(n.id);
			continue;
		}
		lat.push((r.at - since) / 1000);
		if (r.method === "editMessageText") byEdit++;
		const flip = flips.find(
			(f) => f.node_id === n.id && f.from_status === "online" && f.to_status !== "online" && f.at >= since - 1,
		);
		if (flip) afterFlip.push((r.at - flip.at) / 1000);
	}
	return {
		count: nodes.length,
		alerted: lat.length,
		neverAlerted: never,
		latencyS: summarize(lat),
		afterFlipS: summarize(afterFlip),
		byEdit,
	};
}

/** Polls the fake every 2 s until `done` holds or `deadline`; returns its last state. */
export async function pollFake(
	fake: FakeBotApiProcess,
	done: (st: FakeState) => boolean,
	deadline: number,
	check: () => void,
): Promise<FakeState> {
	let st = await fake.state();
	while (!done(st) && Date.now() < deadline) {
		await sleep(2000);
		check();
		st = await fake.state();
	}
	return st;
}

/** Last time the fake received a Telegram request (0 if never). */
export function lastTelegramAt(st: FakeState): number {
	return st.requests.reduce((m, r) => (r.dest.startsWith("tg:") ? Math.max(m, r.at) : m), 0);
}

// --- Telegram's limits, from the fake's receive timestamps ---

export interface Pace {
	requests: number;
	/** Most requests to one chat within any 1 s (a window [t, t + 1000 ms)). */
	perChatMax1s: number;
	/** Closest two requests to one chat (ms); null when no chat got two. */
	minGapMs: number | null;
	/** Most Telegram requests within any 1 s, all chats together, and when that second began. */
	globalMax1s: number;
	globalMax1sAt: number | null;
}

function maxWithin(ats: number[], ms: number): { n: number; at: number | null } {
	const s = ats.slice().sort((a, b) => a - b);
	let best = { n: 0, at: null as number | null };
	for (let i = 0, j = 0; j < s.length; j++) {
		while ((s[j] as number) - (s[i] as number) >= ms) i++;
		if (j - i + 1 > best.n) best = { n: j - i + 1, at: s[i] as number };
	}
	return best;
}

/** Every request that reached a Telegram messaging method at or after `since`, answered or refused. */
export function telegramPace(requests: FakeRequest[], since: number): Pace {
	const tg = requests.filter((r) => r.dest.startsWith("tg:") && r.at >= since);
	const byChat = new Map<string, number[]>();
	for (const r of tg) byChat.set(r.dest, [...(byChat.get(r.dest) ?? []), r.at]);
	let perChat = 0;
	let minGap: number | null = null;
	for (const ats of byChat.values()) {
		perChat = Math.max(perChat, maxWithin(ats, 1000).n);
		const s = ats.slice().sort((a, b) => a - b);
		for (let i = 1; i < s.length; i++) minGap = Math.min(minGap ?? Infinity, (s[i] as number) - (s[i - 1] as number));
	}
	const g = maxWithin(
		tg.map((r) => r.at),
		1000,
	);
	return { requests: tg.length, perChatMax1s: perChat, minGapMs: minGap, globalMax1s: g.n, globalMax1sAt: g.at };
}

// --- (b) the storm ---

export interface StormPlan {
	nodes: SimNode[];
	perOperator: number;
	operators: number;
	/** Healthy nodes online just before: the storm's share of the fleet. */
	onlineBefore: number;
}

/** `perOperator` random healthy nodes of each operator. */
export function planStorm(
	fleet: Fleet,
	info: Map<string, NodeInfo>,
	operators: number,
	perOperator: number,
): StormPlan {
	const online = fleet.online();
	const byOp = new Map<number, SimNode[]>();
	for (const n of online.sort(() => Math.random() - 0.5)) {
		const op = (info.get(n.id) as NodeInfo).account;
		const list = byOp.get(op) ?? [];
		if (list.length < perOperator) byOp.set(op, [...list, n]);
	}
	return { nodes: [...byOp.values()].flat(), perOperator, operators: byOp.size, onlineBefore: online.length };
}

export interface StormRun {
	startedAt: number;
	endedAt: number;
	timedOut: boolean;
	flips: FlipRow[];
	incidents: IncidentRow[];
	state: FakeState;
}

/**
 * Silences every planned node in one tick, then waits (bounded by `deadline`) until each has an offline flip
 * in D1, the last of those flips is a group window + `quietMs` old, and the fake heard nothing for `quietMs`:
 * late edits, second messages and stragglers would show by then.
 */
export async function runStorm(
	fake: FakeBotApiProcess,
	fleet: Fleet,
	plan: StormPlan,
	reader: FlipReader,
	o: {
		groupWindowMs: number;
		quietMs: number;
		deadline: number;
		check: () => void;
		log: (m: string) => void;
	},
): Promise<StormRun> {
	const startedAt = Date.now();
	for (const n of plan.nodes) fleet.silence(n);
	const ids = new Set(plan.nodes.map((n) => n.id));
	let lastLog = Date.now();
	for (;;) {
		await sleep(2000);
		o.check();
		const flips = await reader.since(startedAt);
		const st = await fake.state();
		const storm = flips.filter((f) => ids.has(f.node_id) && f.from_status === "online" && f.to_status !== "online");
		const flipped = new Set(storm.map((f) => f.node_id)).size;
		const lastFlip = storm.reduce((m, f) => Math.max(m, f.at), 0);
		const now = Date.now();
		const done =
			flipped === ids.size && now - lastFlip >= o.groupWindowMs + o.quietMs && now - lastTelegramAt(st) >= o.quietMs;
		if (done || now >= o.deadline) {
			return {
				startedAt,
				endedAt: now,
				timedOut: !done,
				flips,
				incidents: await reader.incidents(startedAt),
				state: st,
			};
		}
		if (now - lastLog >= 15_000) {
			lastLog = now;
			const sent = accepted(st.requests, startedAt);
			o.log(
				`storm +${Math.round((now - startedAt) / 1000)} s: ${flipped}/${ids.size} flipped offline, ` +
					`${storm.filter((f) => f.incident_id).length} tagged with an incident; ` +
					`fake got ${sent.filter((r) => r.method === "sendMessage").length} messages, ` +
					`${sent.filter((r) => r.method === "editMessageText").length} edits`,
			);
		}
	}
}

export interface StormResult {
	nodes: number;
	operators: number;
	perOperator: number;
	onlineBefore: number;
	seconds: number;
	timedOut: boolean;
	flipped: number;
	/** Storm flips carrying an incident id (stamped, or tagged once the shard's incident opened). */
	taggedIncident: number;
	incidents: { id: string; scope: string; reason: string; nodes_affected: number }[];
	shardsWithIncident: number;
	/** sendMessage requests the fake accepted during the storm: new messages, each a notification. */
	messages: number;
	edits: number;
	refused: number;
	maxMessagesToOneChat: number;
	/** Storm nodes named on a line of the final text of a storm message to their operator's chat. */
	named: number;
	/** Nodes a heading counted but no line named ("…and N more", or a clipped text). */
	countedOnly: number;
	lost: number;
	lostByOperator: Record<string, number>;
	/**
	 * For the first few operators with a loss: what was dropped, what D1 recorded, and every version of every storm
	 * message.
	 */
	lostDetail: {
		chat: number;
		dropped: string[];
		notNamed: string[];
		flips: (FlipRow & { name: string })[];
		messages: { sent_at: number; edited_at: number | null; versions: string[] }[];
		requests: { at: number; method: string; status: number }[];
	}[];
	/** Named in a storm message but not dropped in the storm (e.g. still-offline soak nodes carried along). */
	alsoNamed: number;
	operatorsBy: { incidentOnly: number; downOnly: number; both: number; none: number };
	detectS: Summary;
	firstMessageS: Summary;
	lastUpdateS: Summary;
	healthyFlipped: number;
}

/**
 * "None lost", per operator: the final text (after every edit) of the messages its chat received or had edited
 * since the storm began must account for each of its dropped nodes — named on a line of a 🔴 offline or ⚠️
 * incident section, or among the nodes a section's heading counts but no line names (a section lists at most
 * 25 lines, then "…and N more"). lost = dropped nodes not named − Σ (heading count − lines naming the operator's
 * nodes), if positive.
 */
export function analyseStorm(
	plan: StormPlan,
	run: StormRun,
	fleet: Fleet,
	info: Map<string, NodeInfo>,
	chats: number[],
): StormResult {
	const ids = new Set(plan.nodes.map((n) => n.id));
	const stormFlips = run.flips.filter(
		(f) => ids.has(f.node_id) && f.from_status === "online" && f.to_status !== "online",
	);
	const firstFlip = new Map<string, FlipRow>();
	for (const f of stormFlips) if (!firstFlip.has(f.node_id)) firstFlip.set(f.node_id, f);
	const reqs = accepted(run.state.requests, run.startedAt);
	const dropped = new Map<number, Set<string>>();
	for (const n of plan.nodes) {
		const who = info.get(n.id) as NodeInfo;
		dropped.set(who.account, (dropped.get(who.account) ?? new Set()).add(who.name));
	}
	const namesOf = new Map<number, Set<string>>();
	for (const who of info.values()) namesOf.set(who.account, (namesOf.get(who.account) ?? new Set()).add(who.name));
	let named = 0;
	let countedOnly = 0;
	let lost = 0;
	let alsoNamed = 0;
	const lostByOperator: Record<string, number> = {};
	const lostDetail: StormResult["lostDetail"] = [];
	const nameOf = new Map([...info].map(([id, who]) => [who.name, id]));
	const by = { incidentOnly: 0, downOnly: 0, both: 0, none: 0 };
	const first: number[] = [];
	const last: number[] = [];
	let maxToOne = 0;
	for (const [op, chat] of chats.entries()) {
		const dest = `tg:${chat}`;
		const msgs = run.state.messages.filter(
			(m: FakeMessage) => m.dest === dest && (m.sent_at >= run.startedAt || (m.edited_at ?? 0) >= run.startedAt),
		);
		const sections = msgs.flatMap((m) => alertSections(m.text));
		const mine = namesOf.get(op) ?? new Set<string>();
		const drop = dropped.get(op) ?? new Set<string>();
		const seen = new Set<string>();
		let capacity = 0;
		for (const s of sections) {
			const listed = s.names.filter((x) => mine.has(x));
			for (const x of listed) seen.add(x);
			capacity += Math.max(0, s.count - listed.length);
		}
		const namedHere = [...drop].filter((x) => seen.has(x)).length;
		alsoNamed += [...seen].filter((x) => !drop.has(x)).length;
		const unnamed = drop.size - namedHere;
		const lostHere = Math.max(0, unnamed - capacity);
		named += namedHere;
		countedOnly += unnamed - lostHere;
		lost += lostHere;
		if (lostHere) lostByOperator[String(chat)] = lostHere;
		if (lostHere && lostDetail.length < 5) {
			const notNamed = [...drop].filter((x) => !seen.has(x));
			lostDetail.push({
				chat,
				dropped: [...drop],
				notNamed,
				flips: run.flips
					.filter((f) => notNamed.some((x) => nameOf.get(x) === f.node_id))
					.map((f) => ({ ...f, name: (info.get(f.node_id) as NodeInfo).name })),
				messages: msgs.map((m) => ({
					sent_at: m.sent_at - run.startedAt,
					edited_at: m.edited_at === null ? null : m.edited_at - run.startedAt,
					versions: m.versions,
				})),
				requests: run.state.requests
					.filter((r) => r.dest === dest && r.at >= run.startedAt)
					.map((r) => ({ at: r.at - run.startedAt, method: r.method, status: r.status })),
			});
		}
		if (drop.size > 0) {
			const inc = sections.some((s) => s.kind === "incident");
			const down = sections.some((s) => s.kind === "down");
			if (inc && down) by.both++;
			else if (inc) by.incidentOnly++;
			else if (down) by.downOnly++;
			else by.none++;
		}
		const toChat = reqs.filter((r) => r.dest === dest);
		maxToOne = Math.max(maxToOne, toChat.filter((r) => r.method === "sendMessage").length);
		if (toChat.length) {
			first.push(((toChat[0] as FakeRequest).at - run.startedAt) / 1000);
			last.push(((toChat.at(-1) as FakeRequest).at - run.startedAt) / 1000);
		}
	}
	const healthy = wrongFlips(
		fleet.nodes,
		run.flips.filter((f) => !ids.has(f.node_id)),
	);
	const shards = new Set(run.incidents.filter((i) => i.reason === "mass_drop").map((i) => i.scope));
	return {
		nodes: plan.nodes.length,
		operators: plan.operators,
		perOperator: plan.perOperator,
		onlineBefore: plan.onlineBefore,
		seconds: (run.endedAt - run.startedAt) / 1000,
		timedOut: run.timedOut,
		flipped: firstFlip.size,
		taggedIncident: [...firstFlip.values()].filter((f) => f.incident_id !== null).length,
		incidents: run.incidents.map(({ id, scope, reason, nodes_affected }) => ({ id, scope, reason, nodes_affected })),
		shardsWithIncident: shards.size,
		messages: reqs.filter((r) => r.method === "sendMessage").length,
		edits: reqs.filter((r) => r.method === "editMessageText").length,
		refused: run.state.requests.filter((r) => r.at >= run.startedAt && r.status !== 200).length,
		maxMessagesToOneChat: maxToOne,
		named,
		countedOnly,
		lost,
		lostByOperator,
		lostDetail,
		alsoNamed,
		operatorsBy: by,
		detectS: summarize([...firstFlip.values()].map((f) => (f.at - run.startedAt) / 1000)),
		firstMessageS: summarize(first),
		lastUpdateS: summarize(last),
		healthyFlipped: healthy.nodes,
	};
}

/** Which path the storm took, in a few words: the shard incident rule decides, per shard. */
export function stormPath(s: StormResult, shardCount: number): string {
	if (s.shardsWithIncident === 0) return "per-node alerts";
	if (s.shardsWithIncident >= shardCount) return "coordinator incident";
	return `mixed: incident in ${s.shardsWithIncident}/${shardCount} shards`;
}

// --- What the coordinator itself complained about ---

/** Bytes in the coordinator's log so far (0 if it has none yet). */
export function logSize(file: string): number {
	try {
		return statSync(file).size;
	} catch {
		return 0;
	}
}

/**
 * wrangler dev's "✘ [ERROR]" lines from byte `from` on: how many, and the commonest messages (ids and numbers
 * folded).
 */
export function logErrors(file: string, from: number): { count: number; top: { message: string; count: number }[] } {
	const size = logSize(file);
	if (size <= from) return { count: 0, top: [] };
	const buf = Buffer.alloc(Math.min(size - from, 64 * 1024 * 1024));
	const fd = openSync(file, "r");
	try {
		readSync(fd, buf, 0, buf.length, from);
	} finally {
		closeSync(fd);
	}
	const counts = new Map<string, number>();
	let count = 0;
	for (const raw of buf.toString("utf8").split("\n")) {
		const m = /\[ERROR\]\s*(.*)$/.exec(stripVTControlCharacters(raw));
		if (!m) continue;
		count++;
		const msg = (m[1] as string)
			.replace(/\b(acc|node|inc)_[\w-]+/g, "$1_…")
			.replace(/\d{3,}/g, "N")
			.slice(0, 160);
		counts.set(msg, (counts.get(msg) ?? 0) + 1);
	}
	const top = [...counts]
		.sort((a, b) => b[1] - a[1])
		.slice(0, 3)
		.map(([message, n]) => ({ message, count: n }));
	return { count, top };
}
