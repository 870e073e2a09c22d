// Owns one operator's alerts (keyed by account id): the alert state of their nodes, mutes, settings, the digest, and an outbox to the DeliveryGate.
import { DurableObject } from "cloudflare:workers";
import { renderNotice } from "../workers/domain/alert-text.ts";
import {
	due, emptyState, mute, nextDeadline, receiveFlip, receiveIncidentTag, unmute,
	type AlertFlip, type AlertRules, type AlertState, type NodeAlert, type Outgoing,
} from "../workers/domain/alerts.ts";
import {
	DEFAULT_ALERT_SETTINGS, applyPatch, readAlertRules, telegramChatsOf,
	type AlertSettings, type PatchResult, type SettingsPatch, type SettingsSnapshot,
} from "../workers/services/alerts.ts";
import { buildDigest, nextDigestAt } from "../workers/services/digest.ts";
import { discordDest } from "../workers/transports/discord.ts";
import { telegramDest } from "../workers/transports/telegram.ts";
import type { AlertTag, GateJob } from "../workers/contracts.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS node (id TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL);
`;

/** A failed hand-off to the gate is retried this much later. */
const RETRY_MS = 5_000;

export class OperatorAlerts extends DurableObject<Env> {
	private readonly sql: SqlStorage;
	private readonly rules: AlertRules;
	private state: AlertState;
	private settings: AlertSettings;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql = ctx.storage.sql;
		this.sql.exec(SCHEMA);
		this.rules = readAlertRules(env);
		this.settings = { ...DEFAULT_ALERT_SETTINGS, ...this.meta<AlertSettings>("settings") };
		const s = emptyState();
		for (const row of this.sql.exec("SELECT id, v FROM node")) s.nodes[row.id as string] = JSON.parse(row.v as string) as NodeAlert;
		s.mutes = this.meta<Record<string, number>>("mutes") ?? {};
		s.pending = this.meta<AlertState["pending"]>("pending");
		s.open = this.meta<AlertState["open"]>("open");
		s.nextKey = this.meta<number>("next_key") ?? 1;
		s.enabled = this.settings.alerts;
		this.state = s;
	}

	// --- RPC: the shards, the API and the bots ---

	/** Flips (and late incident tags) of this operator's nodes; a redelivery changes nothing. */
	async receive(accountId: string, flips: AlertFlip[], tags: AlertTag[] = []): Promise<void> {
		this.bind(accountId);
		const now = Date.now();
		const touched = flips.filter((f) => receiveFlip(this.state, f, now, this.rules)).map((f) => f.nodeId);
		for (const t of tags) {
			receiveIncidentTag(this.state, t.nodeIds, t.incidentId);
			touched.push(...t.nodeIds);
		}
		this.save(touched);
		await this.schedule();
	}

	snapshot(accountId: string): SettingsSnapshot {
		this.bind(accountId);
		return { settings: this.settings, mutes: { ...this.state.mutes } };
	}

	async updateSettings(accountId: string, patch: SettingsPatch): Promise<PatchResult> {
		this.bind(accountId);
		const r = applyPatch(this.settings, patch);
		if (!r.ok) return r;
		this.settings = r.settings;
		this.state.enabled = r.settings.alerts;
		this.setMeta("settings", r.settings);
		if (patch.digest !== undefined || patch.digest_hour_utc !== undefined) this.setMeta("digest_at", null);
		await this.schedule();
		return r;
	}

	async mute(accountId: string, target: string, until: number): Promise<void> {
		this.bind(accountId);
		mute(this.state, target, until);
		this.save([]);
		await this.schedule();
	}

	async unmute(accountId: string, target: string | undefined): Promise<string[]> {
		this.bind(accountId);
		const lifted = unmute(this.state, Date.now(), target);
		this.save([]);
		await this.schedule();
		return lifted;
	}

	/** Nodes whose alerts are paused because they flap, for /status. */
	flapping(): string[] {
		return Object.entries(this.state.nodes).filter(([, n]) => n.flapping).map(([id]) => id);
	}

	// --- The alarm: the next deadline of the rules, a pending hand-off, or the digest ---

	override async alarm(): Promise<void> {
		const account = this.meta<string>("account");
		if (!account) return;
		await this.handOff();
		const deadline = nextDeadline(this.state, this.rules, Date.now());
		if (deadline !== null && deadline <= Date.now()) {
			// Read names and destinations first; the rules then run and commit without an await in between.
			const [names, dests] = await Promise.all([this.names(account), this.destinations(account)]);
			const { outgoing, touched } = due(this.state, Date.now(), this.rules);
			const jobs = outgoing.flatMap((o) => this.jobs(account, o, names, dests));
			this.ctx.storage.transactionSync(() => {
				this.save(touched);
				for (const j of jobs) this.sql.exec("INSERT INTO outbox (job) VALUES (?)", JSON.stringify(j));
			});
		}
		await this.digestIfDue(account);
		await this.handOff();
		await this.schedule();
	}

	private async digestIfDue(account: string): Promise<void> {
		if (!this.settings.digest) return;
		const at = this.meta<number>("digest_at");
		const now = Date.now();
		if (at === null) return this.setMeta("digest_at", nextDigestAt(this.settings.digest_hour_utc, now));
		if (at > now) return;
		const [text, dests] = await Promise.all([buildDigest(this.env, account, now), this.destinations(account)]);
		const day = new Date(at).toISOString().slice(0, 10);
		this.ctx.storage.transactionSync(() => {
			for (const d of dests) {
				const job: GateJob = { id: `${account}:digest:${day}:${d}`, dest: d, ref: `${account}:digest:${day}`, kind: "send", text };
				this.sql.exec("INSERT INTO outbox (job) VALUES (?)", JSON.stringify(job));
			}
			this.setMeta("digest_at", nextDigestAt(this.settings.digest_hour_utc, now));
		});
	}

	/** Hands queued jobs to the gate; they leave the outbox only once the gate has them (it ignores ids it already holds). */
	private async handOff(): Promise<void> {
		const rows = this.sql.exec("SELECT seq, job FROM outbox ORDER BY seq LIMIT 500").toArray();
		if (!rows.length) return;
		try {
			await this.env.GATE.getByName("global").enqueue(rows.map((r) => JSON.parse(r.job as string) as GateJob));
			this.sql.exec("DELETE FROM outbox WHERE seq <= ?", rows[rows.length - 1]?.seq as number);
		} catch (err) {
			console.error("handing alerts to the delivery gate failed; retrying", err);
		}
	}

	private jobs(account: string, o: Outgoing, names: Map<string, string>, dests: string[]): GateJob[] {
		const text = renderNotice(o.notice, (id) => names.get(id) ?? id, this.rules);
		const ref = `${account}:${o.key}`;
		const edit = o.op === "edit" ? `:e${this.bump("edit_seq")}` : "";
		return dests.map((dest) => ({ id: `${ref}${edit}:${dest}`, dest, ref, kind: o.op, text }));
	}

	private async names(account: string): Promise<Map<string, string>> {
		const { results } = await this.env.DB.prepare("SELECT id, name FROM nodes WHERE account_id = ?").bind(account).all<{ id: string; name: string }>();
		return new Map(results.map((r) => [r.id, r.name]));
	}

	private async destinations(account: string): Promise<string[]> {
		const chats = (await telegramChatsOf(this.env.DB, account)).map((c) => telegramDest(c));
		return this.settings.discord_webhook ? [...chats, discordDest(this.settings.discord_webhook)] : chats;
	}

	/** One alarm, at the earliest of: the rules' next deadline, a hand-off retry, the digest. */
	private async schedule(): Promise<void> {
		const times: number[] = [];
		const deadline = nextDeadline(this.state, this.rules, Date.now());
		if (deadline !== null) times.push(deadline);
		if (this.sql.exec("SELECT 1 FROM outbox LIMIT 1").toArray().length) times.push(Date.now() + RETRY_MS);
		if (this.settings.digest) times.push(this.meta<number>("digest_at") ?? Date.now());
		const next = times.length ? Math.min(...times) : null;
		const current = await this.ctx.storage.getAlarm();
		if (next === null) {
			if (current !== null) await this.ctx.storage.deleteAlarm();
		} else if (current === null || current > next) {
			await this.ctx.storage.setAlarm(next);
		}
	}

	// --- Storage ---

	private bind(accountId: string): void {
		if (this.meta<string>("account") !== accountId) this.setMeta("account", accountId);
	}

	private save(touched: string[]): void {
		for (const id of new Set(touched)) {
			const n = this.state.nodes[id];
			if (n) this.sql.exec("INSERT INTO node (id, v) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET v = excluded.v", id, JSON.stringify(n));
			else this.sql.exec("DELETE FROM node WHERE id = ?", id);
		}
		this.setMeta("mutes", this.state.mutes);
		this.setMeta("pending", this.state.pending);
		this.setMeta("open", this.state.open);
		this.setMeta("next_key", this.state.nextKey);
	}

	private bump(key: string): number {
		const n = (this.meta<number>(key) ?? 0) + 1;
		this.setMeta(key, n);
		return n;
	}

	private meta<T>(key: string): T | null {
		const row = this.sql.exec("SELECT value FROM meta WHERE key = ?", key).toArray()[0];
		return row ? (JSON.parse(row.value as string) as T) : null;
	}

	private setMeta(key: string, value: unknown): void {
		this.sql.exec("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, JSON.stringify(value));
	}
}
