// The soak: silent deaths and clean disconnects at random moments, then a bounded wait until each is a recorded flip.
import type { FlipRow } from "./flips.ts";
import type { Fleet, SimNode } from "./fleet.ts";

export interface DeathPlan {
	silent: SimNode[];
	clean: SimNode[];
	/** Latest moment (ms after the soak starts) a death may happen, so its flip lands before the soak ends. */
	lastEventMs: number;
	events: { n: SimNode; kind: "silent" | "clean"; atMs: number }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Picks distinct healthy nodes and spreads their deaths uniformly between 5 s and the last useful moment. */
export function planDeaths(fleet: Fleet, silent: number, clean: number, soakMs: number, detectMs: number): DeathPlan {
	const candidates = fleet.online().sort(() => Math.random() - 0.5);
	const s = candidates.slice(0, silent);
	const c = candidates.slice(silent, silent + clean);
	const lastEventMs = Math.max(10_000, soakMs - detectMs);
	const at = () => 5000 + Math.random() * (lastEventMs - 5000);
	const events = [
		...s.map((n) => ({ n, kind: "silent" as const, atMs: at() })),
		...c.map((n) => ({ n, kind: "clean" as const, atMs: at() })),
	].sort((a, b) => a.atMs - b.atMs);
	return { silent: s, clean: c, lastEventMs, events };
}

/** Runs the soak for `soakMs` from `startedAt`, carrying out each death on time; `tick` runs every `everyMs`. */
export async function runSoak(
	fleet: Fleet,
	plan: DeathPlan,
	startedAt: number,
	soakMs: number,
	everyMs: number,
	tick: (done: number) => Promise<void>,
): Promise<void> {
	let next = 0;
	const kill = () => {
		const e = plan.events[next++] as DeathPlan["events"][number];
		if (e.kind === "silent") fleet.silence(e.n);
		else fleet.closeClean(e.n);
	};
	const end = startedAt + soakMs;
	let nextTick = Date.now() + everyMs;
	while (Date.now() < end) {
		while (next < plan.events.length && startedAt + (plan.events[next]?.atMs ?? Infinity) <= Date.now()) kill();
		if (Date.now() >= nextTick) {
			nextTick = Date.now() + everyMs;
			await tick(next);
		}
		await sleep(Math.min(200, Math.max(1, end - Date.now())));
	}
	while (next < plan.events.length) kill();
}

/** Re-reads the flips every 2 s until every dead node has left `online`, or until `deadline`. */
export async function awaitFlips(
	dead: SimNode[],
	read: () => Promise<FlipRow[]>,
	deadline: number,
	check: () => void,
): Promise<FlipRow[]> {
	const done = (flips: FlipRow[]) => {
		const left = new Set(flips.filter((f) => f.from_status === "online").map((f) => f.node_id));
		return dead.every((n) => left.has(n.id));
	};
	let flips = await read();
	while (!done(flips) && Date.now() < deadline) {
		await sleep(2000);
		check();
		flips = await read();
	}
	return flips;
}
