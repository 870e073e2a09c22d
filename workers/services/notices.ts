// Hands the owners' Telegram notices (staff replies, flags) from D1 to the DeliveryGate, which paces and retries them
// like alerts.
import type { GateJob } from "../contracts.ts";
import * as notices from "../db/notices.ts";
import { telegramDest } from "../transports/telegram.ts";

/** Notices handed per drain; the next drain (the cron's, every minute) takes the rest. */
const HAND_BATCH = 200;

/** Gives the gate the notices it does not have yet; its job ids (`notice:<id>`) make a repeated hand-off harmless. */
export async function handTelegramNotices(env: Env, now: number): Promise<number> {
	const rows = await notices.pendingTelegram(env.DB, HAND_BATCH);
	if (!rows.length) return 0;
	const jobs: GateJob[] = rows.map((r) => ({
		id: `notice:${r.id}`,
		dest: telegramDest(r.chat_id),
		ref: `notice:${r.id}`,
		kind: "send",
		text: r.text,
	}));
	await env.GATE.getByName("global").enqueue(jobs);
	await notices.markHanded(
		env.DB,
		rows.map((r) => r.id),
		now,
	);
	return rows.length;
}
