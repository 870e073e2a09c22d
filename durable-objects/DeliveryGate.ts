// Owns the pace of outbound alert messages (one object for the whole network): a durable queue, Telegram's and
// Discord's limits, 429 back-off, and sent-message ids for edits.
import { readConfig } from "../workers/config.ts";
import type { GateJob, GateStats } from "../workers/contracts.ts";
import { DiscordTransport } from "../workers/transports/discord.ts";
import {
	SlidingLimit,
	TELEGRAM_PER_SECOND,
	destGapMs,
	transportOf,
	type Delivery,
	type Dest,
	type Transport,
} from "../workers/transports/delivery.ts";
import { TelegramTransport } from "../workers/transports/telegram.ts";
import { KitObject } from "./kit.ts";

interface JobRow {
	seq: number;
	id: string;
	dest: string;
	ref: string;
	kind: "send" | "edit";
	text: string;
	state: "queued" | "done" | "dead";
	not_before: number;
	attempts: number;
	created_at: number;
	message_id: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS job (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, dest TEXT NOT NULL, ref TEXT NOT NULL,
  kind TEXT NOT NULL, text TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued', not_before INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, done_at INTEGER, message_id TEXT
);
CREATE INDEX IF NOT EXISTS job_queued ON job (state, dest, seq);
CREATE INDEX IF NOT EXISTS job_ref ON job (dest, ref, kind);
CREATE TABLE IF NOT EXISTS stat (key TEXT PRIMARY KEY, n INTEGER NOT NULL);
`;

/** One alarm run sends for at most this long, then reschedules itself. */
const RUN_BUDGET_MS = 25_000;
const KEEP_DONE_MS = 2 * 24 * 3600 * 1000;
const GIVE_UP_AFTER_MS = 24 * 3600 * 1000;

/**
 * The pace is real time by nature: a drain waits (setTimeout) between requests as the APIs' limits require. Every
 * reading of the time goes through the kit's clock (`this.now()`), each decision takes the `now` it was made at.
 */
export class DeliveryGate extends KitObject {
	private readonly transports: Record<"telegram" | "discord", Transport>;
	/** dest → earliest next request (in memory: a restart outlasts any gap; a retry_after is also kept on the job). */
	private readonly nextAt = new Map<Dest, number>();
	private readonly inFlight = new Set<Dest>();
	/** Telegram's overall limit, across every chat. */
	private readonly telegram = new SlidingLimit(TELEGRAM_PER_SECOND);
	private draining = false;
	/** Cuts a running drain's wait short when new jobs arrive. */
	private wake: (() => void) | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql.schema(SCHEMA);
		const discord = new DiscordTransport(readConfig(env).discord.apiRoot);
		this.transports = { telegram: new TelegramTransport(env), discord };
	}

	/**
	 * Queues jobs at `now` on the gate's clock (idempotent by id); an edit of a message still queued rewrites it instead
	 * of queuing a second request.
	 */
	async enqueue(jobs: GateJob[], now = this.now()): Promise<void> {
		for (const j of jobs) {
			const inserted = this.sql.run(
				"INSERT OR IGNORE INTO job (id, dest, ref, kind, text, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
				j.id,
				j.dest,
				j.ref,
				j.kind,
				j.text,
				now,
				now,
			);
			if (!inserted || j.kind !== "edit") continue;
			// Supersede earlier queued edits of this message, and fold the text into a send that has not gone yet.
			const folded = this.inFlight.has(j.dest)
				? 0
				: this.sql.run(
						"UPDATE job SET text = ? WHERE dest = ? AND ref = ? AND kind = 'send' AND state = 'queued'",
						j.text,
						j.dest,
						j.ref,
					);
			const superseded = this.sql.run(
				`UPDATE job SET state = 'done', done_at = ?
				 WHERE dest = ? AND ref = ? AND kind = 'edit' AND state = 'queued' AND id != ?`,
				now,
				j.dest,
				j.ref,
				j.id,
			);
			if (folded) this.sql.run("UPDATE job SET state = 'done', done_at = ? WHERE id = ?", now, j.id);
			this.count("coalesced", superseded + (folded ? 1 : 0));
		}
		if (this.draining) this.wake?.();
		else await this.ctx.storage.setAlarm(now);
	}

	stats(): GateStats {
		const rows = this.sql.all<{ key: string; n: number }>("SELECT key, n FROM stat");
		const get = (k: string) => Number(rows.find((r) => r.key === k)?.n ?? 0);
		const queued = Number(this.sql.value<number>("SELECT count(*) FROM job WHERE state = 'queued'") ?? 0);
		return {
			queued,
			sent: get("sent"),
			edited: get("edited"),
			coalesced: get("coalesced"),
			throttled: get("throttled"),
			failed: get("failed"),
		};
	}

	override async alarm(): Promise<void> {
		this.draining = true;
		try {
			const until = this.now() + RUN_BUDGET_MS;
			for (;;) {
				const now = this.now();
				const { ready, wakeAt } = this.pick(now);
				if (ready.length) {
					await Promise.all(ready.map((j) => this.deliver(j)));
					continue;
				}
				if (wakeAt === null) break;
				if (wakeAt >= until) {
					await this.ctx.storage.setAlarm(wakeAt);
					break;
				}
				await this.sleep(wakeAt - now);
			}
			this.sql.run("DELETE FROM job WHERE state != 'queued' AND done_at < ?", this.now() - KEEP_DONE_MS);
		} finally {
			this.draining = false;
		}
	}

	/** Waits `ms` of real time between requests, or less when new jobs arrive. */
	private async sleep(ms: number): Promise<void> {
		await new Promise<void>((resolve) => {
			const timer = setTimeout(resolve, Math.max(1, ms));
			this.wake = () => {
				clearTimeout(timer);
				resolve();
			};
		});
		this.wake = null;
	}

	/** The jobs that may go now (the oldest queued job of each destination, within every limit), or when to look again. */
	private pick(now: number): { ready: JobRow[]; wakeAt: number | null } {
		const heads = this.sql.all<JobRow>(
			`SELECT * FROM job WHERE seq IN (SELECT min(seq) FROM job WHERE state = 'queued' GROUP BY dest)
			 ORDER BY seq LIMIT 1000`,
		);
		const ready: JobRow[] = [];
		let wakeAt: number | null = null;
		const later = (t: number) => (wakeAt = wakeAt === null ? t : Math.min(wakeAt, t));
		for (const j of heads) {
			if (this.inFlight.has(j.dest)) continue; // its delivery will reschedule
			const at = Math.max(j.not_before, this.nextAt.get(j.dest) ?? 0);
			if (at > now) {
				later(at);
				continue;
			}
			if (transportOf(j.dest) === "telegram") {
				const free = this.telegram.free(now);
				if (free !== true) {
					later(free);
					continue;
				}
				this.telegram.start();
			}
			this.inFlight.add(j.dest);
			ready.push(j);
		}
		if (ready.length === 0 && this.inFlight.size > 0) later(now + 50);
		return { ready, wakeAt };
	}

	private async deliver(j: JobRow): Promise<void> {
		try {
			let result: Delivery;
			const transport = this.transports[transportOf(j.dest)];
			if (j.kind === "send") {
				result = await transport.send(j.dest, j.text);
			} else {
				const sent = this.sql.first<{ state: string; message_id: string | null }>(
					"SELECT state, message_id FROM job WHERE dest = ? AND ref = ? AND kind = 'send'",
					j.dest,
					j.ref,
				);
				if (!sent || sent.state !== "done" || !sent.message_id) {
					this.finish(j, "dead", this.now()); // the message it would edit was never sent (or has been pruned)
					return;
				}
				result = await transport.edit(j.dest, String(sent.message_id), j.text);
			}
			this.settle(j, result, this.now());
		} finally {
			// Gaps run from the reply, for the reason SlidingLimit explains (and a retry_after already set stays).
			const done = this.now();
			if (transportOf(j.dest) === "telegram") this.telegram.finish(done);
			this.nextAt.set(j.dest, Math.max(this.nextAt.get(j.dest) ?? 0, done + destGapMs(j.dest)));
			this.inFlight.delete(j.dest);
		}
	}

	/** Records a reply that came at `now`: sent, throttled (wait as told), retried with back-off, or given up. */
	private settle(j: JobRow, r: Delivery, now: number): void {
		if (r.ok) {
			const messageId = j.kind === "send" ? r.messageId : null;
			this.sql.run("UPDATE job SET state = 'done', done_at = ?, message_id = ? WHERE seq = ?", now, messageId, j.seq);
			this.count(j.kind === "send" ? "sent" : "edited", 1);
		} else if ("retryAfterMs" in r) {
			// The API told us when: nothing goes to this destination before then, and the wait is stored with the job.
			this.nextAt.set(j.dest, now + r.retryAfterMs);
			this.sql.run("UPDATE job SET not_before = ? WHERE seq = ?", now + r.retryAfterMs, j.seq);
			this.count("throttled", 1);
		} else if ("transient" in r && now - j.created_at < GIVE_UP_AFTER_MS) {
			const backoff = Math.min(300_000, 1000 * 2 ** Math.min(j.attempts, 9));
			this.sql.run("UPDATE job SET attempts = attempts + 1, not_before = ? WHERE seq = ?", now + backoff, j.seq);
			console.warn(`delivery to ${transportOf(j.dest)} failed, retrying in ${backoff} ms: ${r.transient}`);
		} else {
			console.error(`delivery to ${transportOf(j.dest)} given up: ${"permanent" in r ? r.permanent : r.transient}`);
			this.finish(j, "dead", now);
		}
	}

	private finish(j: JobRow, state: "done" | "dead", now: number): void {
		this.sql.run("UPDATE job SET state = ?, done_at = ? WHERE seq = ?", state, now, j.seq);
		if (state === "dead") this.count("failed", 1);
	}

	private count(key: string, n: number): void {
		if (n <= 0) return;
		this.sql.run("INSERT INTO stat (key, n) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET n = n + excluded.n", key, n);
	}
}
