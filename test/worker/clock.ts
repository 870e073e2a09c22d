// Driving objects' time in tests instead of waiting for it: the work behind an object's alarm, run at the moments the
// test chooses (each object's methods take `now`; the alarm passes its clock, a test its own).
import { env } from "cloudflare:workers";

/**
 * Lets `ms` pass for an operator's alerts: every deadline of theirs that falls in the next `ms` runs now, each at its
 * own time and in order, as the object's alarm would run it while that time passed.
 */
export async function advanceAlerts(accountId: string, ms: number): Promise<void> {
	const stub = env.ALERTS.getByName(accountId);
	const until = Date.now() + ms;
	let at: number | null = Date.now();
	for (let i = 0; at !== null && at <= until; i++) {
		if (i === 50) throw new Error("the alerts' deadlines do not settle");
		const next: number | null = await stub.tick(at);
		at = next === null ? null : Math.max(next, at + 1);
	}
}
