// Connects the fleet with bounded concurrency, one retry pass, and a descriptor budget that keeps workerd alive.
import { pool } from "./api.ts";
import type { BenchCoordinator } from "./coordinator.ts";
import type { Fleet, SimNode } from "./fleet.ts";

export interface ConnectOutcome {
	startedAt: number;
	firstPassS: number;
	retried: number;
	/** True when connecting stopped because a workerd had no descriptors to spare. */
	budgetCapped: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Connects every node (each with a fresh token), then retries the failures once. Before each handshake the
 * descriptor budget is checked (re-read from /proc every 250 handshakes, more often near the end): past its
 * limit the worker's workerd dies and drops every socket, so stopping short is the only way to keep measuring.
 */
export async function connectAll(
	fleet: Fleet,
	c: BenchCoordinator,
	o: { concurrency: number; fdReserve: number; timeoutMs: number },
	progress: (connected: number) => void,
): Promise<ConnectOutcome> {
	let connected = 0;
	let inFlight = 0;
	let allowance = c.socketBudget(o.fdReserve);
	let sinceCheck = 0;
	let budgetCapped = false;
	const mayStart = async (): Promise<boolean> => {
		for (let i = 0; i < 600; i++) {
			if (sinceCheck >= Math.min(250, Math.max(1, Math.floor(allowance / 4)))) {
				allowance = c.socketBudget(o.fdReserve) - inFlight; // in-flight sockets may be counted twice: errs on the safe side
				sinceCheck = 0;
			}
			if (allowance - sinceCheck > 0) return true;
			if (inFlight === 0) break;
			await sleep(100);
			sinceCheck = Number.MAX_SAFE_INTEGER; // recheck after the wait
		}
		budgetCapped = true;
		return false;
	};
	const connectOnce = async (n: SimNode) => {
		if (budgetCapped || !(await mayStart())) return;
		sinceCheck++;
		inFlight++;
		try {
			if (await fleet.connect(n, o.timeoutMs)) progress(++connected);
		} finally {
			inFlight--;
		}
	};
	const startedAt = Date.now();
	await pool(fleet.nodes.length, o.concurrency, (i) => connectOnce(fleet.nodes[i] as SimNode));
	const firstPassS = (Date.now() - startedAt) / 1000;
	const failed = budgetCapped ? [] : fleet.nodes.filter((n) => n.welcomeAt === null);
	if (failed.length) await pool(failed.length, Math.min(50, o.concurrency), (i) => connectOnce(failed[i] as SimNode));
	return { startedAt, firstPassS, retried: failed.length, budgetCapped };
}
