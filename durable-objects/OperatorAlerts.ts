// Owns one operator's alerts (keyed by account id): the alert state of their nodes, mutes, settings, the digest,
// and an outbox to the DeliveryGate.
import { renderNotice } from "../workers/domain/alert-text.ts";
import {
	due,
	emptyState,
	mute,
	nextDeadline,
	receiveFlip,
	receiveIncidentTag,
	unmute,
	type AlertFlip,
	type AlertRules,
	type AlertState,
	type NodeAlert,
	type Outgoing,
} from "../workers/domain/alerts.ts";
import { DEFAULT_ALERT_SETTINGS, applyPatch } from "../workers/domain/alert-settings.ts";
import { readConfig } from "../workers/config.ts";
import * as links from "../workers/db/links.ts";
import * as nodes from "../workers/db/nodes.ts";
import { buildDigest, nextDigestAt } from "../workers/services/digest.ts";
import { discordDest } from "../workers/transports/discord.ts";
import { telegramDest } from "../workers/transports/telegram.ts";
import type { AlertSettings, AlertTag, GateJob, SettingsPatch, SettingsSnapshot } from "../workers/contracts.ts";
import type { Result } from "../workers/failure.ts";
import { KitObject, earliest } from "./kit.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS node (id TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL);
`;

/** A failed hand-off to the gate is retried this much later. */
const RETRY_MS = 5_000;

/**
 * Keyed by the operator's account id, which is the object's name (`this.name`). Versions before it was read from the
 * runtime stored it under the meta key `account`; that row is left as it is and no longer read.
 */
export class OperatorAlerts extends KitObject {
	private readonly rules: AlertRules;
	private state: AlertState;
	private settings: AlertSettings;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql.schema(SCHEMA);
		this.rules = readConfig(env).alertRules;
		this.settings = { ...DEFAULT_ALERT_SETTINGS, ...this.meta.get<AlertSettings>("settings") };
		const s = emptyState();
		for (const row of this.sql.all<{ id: string; v: string }>("SELECT id, v FROM node")) {
			s.nodes[row.id] = JSON.parse(row.v) as NodeAlert;
		}
		s.mutes = this.meta.get<Record<string, number>>("mutes") ?? {};
		s.pending = this.meta.get<AlertState["pending"]>("pending");
		s.open = this.meta.get<AlertState["open"]>("open");
		s.nextKey = this.meta.get<number>("next_key") ?? 1;
		s.enabled = this.settings.alerts;
		this.state = s;
	}

	// --- RPC: the shards, the API and the bots ---

	/** Flips (and late incident tags) of this operator's nodes, received at `now`; a redelivery changes nothing. */
	async receive(flips: AlertFlip[], tags: AlertTag[] = [], now = this.now()): Promise<void> {
		const touched = flips.filter((f) => receiveFlip(this.state, f, now, this.rules)).map((f) => f.nodeId);
		for (const t of tags) {
			receiveIncidentTag(this.state, t.nodeIds, t.incidentId);
			touched.push(...t.nodeIds);
		}
		this.save(touched);
		await this.schedule(now);
	}

	snapshot(): SettingsSnapshot {
		return { settings: this.settings, mutes: { ...this.state.mutes } };
	}

	async updateSettings(patch: SettingsPatch, now = this.now()): Promise<Result<AlertSettings>> {
		const r = applyPatch(this.settings, patch);
		if (!r.ok) return r;
		this.settings = r.value;
		this.state.enabled = r.value.alerts;
		this.meta.set("settings", r.value);
		if (patch.digest !== undefined || patch.digest_hour_utc !== undefined) this.meta.set("digest_at", null);
		await this.schedule(now);
		return r;
	}

	async mute(target: string, until: number, now = this.now()): Promise<void> {
		mute(this.state, target, until);
		this.save([]);
		await this.schedule(now);
	}

	async unmute(target: string | undefined, now = this.now()): Promise<string[]> {
		const lifted = unmute(this.state, now, target);
		this.save([]);
		await this.schedule(now);
		return lifted;
	}

	/** Nodes whose alerts are paused because they flap, for /status. */
	flapping(): string[] {
		return Object.entries(this.state.nodes)
			.filter(([, n]) => n.flapping)
			.map(([id]) => id);
	}

	// --- The alarm: the next deadline of the rules, a pending hand-off, or the digest ---

	override async alarm(): Promise<void> {
		await this.tick(this.now());
	}

	/** The alarm's work as of `now` (the alarm passes the clock, tests their own); returns when it is next due. */
	async tick(now: number): Promise<number | null> {
		const account = this.name;
		await this.handOff();
		const deadline = nextDeadline(this.state, this.rules, now);
		if (deadline !== null && deadline <= now) {
			// Read names and destinations first; the rules then run and commit without an await in between.
			const [names, dests] = await Promise.all([this.names(account), this.destinations(account)]);
			const { outgoing, touched } = due(this.state, now, this.rules);
			const jobs = outgoing.flatMap((o) => this.jobs(account, o, names, dests));
			this.ctx.storage.transactionSync(() => {
				this.save(touched);
				for (const j of jobs) this.sql.run("INSERT INTO outbox (job) VALUES (?)", JSON.stringify(j));
			});
		}
		await this.digestIfDue(account, now);
		await this.handOff();
		return this.schedule(now);
	}

	private async digestIfDue(account: string, now: number): Promise<void> {
		if (!this.settings.digest) return;
		const at = this.meta.get<number>("digest_at");
		if (at === null) return this.meta.set("digest_at", nextDigestAt(this.settings.digest_hour_utc, now));
		if (at > now) return;
		const [text, dests] = await Promise.all([buildDigest(this.env, account, now), this.destinations(account)]);
		const day = new Date(at).toISOString().slice(0, 10);
		const ref = `${account}:digest:${day}`;
		this.ctx.storage.transactionSync(() => {
			for (const dest of dests) {
				const job: GateJob = { id: `${ref}:${dest}`, dest, ref, kind: "send", text };
				this.sql.run("INSERT INTO outbox (job) VALUES (?)", JSON.stringify(job));
			}
			this.meta.set("digest_at", nextDigestAt(this.settings.digest_hour_utc, now));
		});
	}

	/** Hands queued jobs to the gate; they leave the outbox once the gate has them (it ignores ids it already holds). */
	private async handOff(): Promise<void> {
		const rows = this.sql.all<{ seq: number; job: string }>("SELECT seq, job FROM outbox ORDER BY seq LIMIT 500");
		if (!rows.length) return;
		try {
			await this.env.GATE.getByName("global").enqueue(rows.map((r) => JSON.parse(r.job) as GateJob));
			this.sql.run("DELETE FROM outbox WHERE seq <= ?", rows[rows.length - 1]?.seq as number);
		} catch (err) {
			console.error("handing alerts to the delivery gate failed; retrying", err);
		}
	}

	private jobs(account: string, o: Outgoing, names: Map<string, string>, dests: string[]): GateJob[] {
		const text = renderNotice(o.notice, (id) => names.get(id) ?? id, this.rules);
		const ref = `${account}:${o.key}`;
		const edit = o.op === "edit" ? `:e${this.meta.bump("edit_seq")}` : "";
		return dests.map((dest) => ({ id: `${ref}${edit}:${dest}`, dest, ref, kind: o.op, text }));
	}

	private async names(account: string): Promise<Map<string, string>> {
		return nodes.names(this.env.DB, account);
	}

	private async destinations(account: string): Promise<string[]> {
		const chats = (await links.telegramChats(this.env.DB, account)).map((c) => telegramDest(c));
		return this.settings.discord_webhook ? [...chats, discordDest(this.settings.discord_webhook)] : chats;
	}

	/** One alarm, at the earliest of: the rules' next deadline, a hand-off retry, the digest. Returns that time. */
	private async schedule(now: number): Promise<number | null> {
		const next = earliest(
			nextDeadline(this.state, this.rules, now),
			this.sql.exists("SELECT 1 FROM outbox LIMIT 1") ? now + RETRY_MS : null,
			this.settings.digest ? (this.meta.get<number>("digest_at") ?? now) : null,
		);
		await this.alarmBy(next);
		return next;
	}

	// --- Storage ---

	private save(touched: string[]): void {
		for (const id of new Set(touched)) {
			const n = this.state.nodes[id];
			if (!n) this.sql.run("DELETE FROM node WHERE id = ?", id);
			else {
				const upsert = "INSERT INTO node (id, v) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET v = excluded.v";
				this.sql.run(upsert, id, JSON.stringify(n));
			}
		}
		this.meta.set("mutes", this.state.mutes);
		this.meta.set("pending", this.state.pending);
		this.meta.set("open", this.state.open);
		this.meta.set("next_key", this.state.nextKey);
	}
}
