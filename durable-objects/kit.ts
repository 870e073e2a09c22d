// The mechanics every Durable Object here shares: typed SQL over its own SQLite, one meta store, one way to
// serialize work across awaits, one alarm kept at the next deadline, and the clock. Objects keep only their story.
import { DurableObject } from "cloudflare:workers";

export type Row = Record<string, SqlStorageValue>;

/** Typed access to an object's own SQLite; rows written and read are counted (they are billed, and benchmarked). */
export class Sql {
	rowsWritten = 0;
	rowsRead = 0;

	constructor(private readonly storage: SqlStorage) {}

	/** Runs a statement to completion; returns the rows it wrote. */
	run(query: string, ...params: SqlStorageValue[]): number {
		const cursor = this.storage.exec(query, ...params);
		cursor.toArray();
		this.rowsWritten += cursor.rowsWritten;
		this.rowsRead += cursor.rowsRead;
		return cursor.rowsWritten;
	}

	/** Every row of a query, typed by the caller (the row's columns, as the schema declares them). */
	all<T extends object = Row>(query: string, ...params: SqlStorageValue[]): T[] {
		const cursor = this.storage.exec(query, ...params);
		const rows = cursor.toArray();
		this.rowsRead += cursor.rowsRead;
		return rows as unknown as T[];
	}

	/** The first row of a query, or null. */
	first<T extends object = Row>(query: string, ...params: SqlStorageValue[]): T | null {
		return this.all<T>(query, ...params)[0] ?? null;
	}

	/** The first column of the first row (e.g. a count), or null when there is no row. */
	value<T extends SqlStorageValue>(query: string, ...params: SqlStorageValue[]): T | null {
		const row = this.all(query, ...params)[0];
		return row ? (Object.values(row)[0] as T) : null;
	}

	/** True when the query returns a row. */
	exists(query: string, ...params: SqlStorageValue[]): boolean {
		return this.all(query, ...params).length > 0;
	}

	/** Creates tables and indexes (statements with IF NOT EXISTS); not counted as work. */
	schema(ddl: string): void {
		this.storage.exec(ddl);
	}
}

/** One key → JSON value store per object (the table `meta`), for the few scalars an object keeps. */
export class Meta {
	private created = false;

	constructor(private readonly sql: Sql) {}

	/** The table is made on first use, so an object that keeps no scalars (a cluster, the gate) gets none. */
	private table(): void {
		if (this.created) return;
		this.sql.schema("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);");
		this.created = true;
	}

	get<T>(key: string): T | null {
		this.table();
		const row = this.sql.first<{ value: string }>("SELECT value FROM meta WHERE key = ?", key);
		return row ? (JSON.parse(row.value) as T) : null;
	}

	set(key: string, value: unknown): void {
		this.table();
		this.sql.run(
			"INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
			key,
			JSON.stringify(value),
		);
	}

	/** Adds one to a counter and returns the new value. */
	bump(key: string): number {
		const n = (this.get<number>(key) ?? 0) + 1;
		this.set(key, n);
		return n;
	}
}

/**
 * Runs work one at a time, even across awaits. An object's input gate opens while it awaits another object or D1,
 * so two calls can interleave there; work that must not (a deploy and its retry, a settlement, a flush) goes
 * through here. A failure is passed to its caller and does not block the work queued behind it.
 */
export class Serial {
	private chain: Promise<unknown> = Promise.resolve();

	run<T>(fn: () => Promise<T>): Promise<T> {
		const next = this.chain.then(fn, fn);
		this.chain = next.catch(() => undefined);
		return next;
	}
}

/**
 * For "write out everything pending" work such as an outbox flush: one run at a time, and a call made while a run is
 * under way waits for it and then runs again, so what it queued just before is written by a run that started after.
 */
export class Coalesced {
	private running: Promise<void> | null = null;

	constructor(private readonly work: () => Promise<void>) {}

	async run(): Promise<void> {
		while (this.running) await this.running;
		this.running = this.work().finally(() => {
			this.running = null;
		});
		await this.running;
	}
}

export interface Clock {
	now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * The base of every object: its storage kit, its name, its clock. Methods that decide by time take `now`; the
 * runtime's entry points (alarm, WebSocket events, fetch) read `this.clock` once and pass it down, so a test can set
 * the clock (through `runInDurableObject`) or call the method behind the alarm with the `now` it wants.
 */
export abstract class KitObject extends DurableObject<Env> {
	protected readonly sql: Sql;
	protected readonly meta: Meta;
	/** Wall clock by default; tests may replace it. */
	clock: Clock = systemClock;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		this.sql = new Sql(ctx.storage.sql);
		this.meta = new Meta(this.sql);
	}

	/** The name the object was reached by (`getByName`), from the runtime; never passed in and stored by callers. */
	protected get name(): string {
		return this.ctx.id.name ?? this.ctx.id.toString();
	}

	protected now(): number {
		return this.clock.now();
	}

	/** Points the object's one alarm at `at` (null: none). A time already past fires at once. */
	protected async alarmAt(at: number | null): Promise<void> {
		if (at === null) {
			if ((await this.ctx.storage.getAlarm()) !== null) await this.ctx.storage.deleteAlarm();
			return;
		}
		// The runtime refuses non-positive times, so a deadline computed from a missing value still schedules.
		const when = Math.max(1, Math.round(at));
		if ((await this.ctx.storage.getAlarm()) !== when) await this.ctx.storage.setAlarm(when);
	}

	/** Sets the alarm at `at` only when none is set (a sweep already scheduled keeps its time). */
	protected async ensureAlarmAt(at: number): Promise<void> {
		if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Math.max(1, Math.round(at)));
	}

	/**
	 * Brings the alarm forward to `at` when it is set later or not at all (null: removes it). An earlier alarm stays:
	 * the alarm recomputes its deadlines, and a retry kept at its time is not pushed back by every later change.
	 */
	protected async alarmBy(at: number | null): Promise<void> {
		const current = await this.ctx.storage.getAlarm();
		if (at === null) {
			if (current !== null) await this.ctx.storage.deleteAlarm();
			return;
		}
		const when = Math.max(1, Math.round(at));
		if (current === null || current > when) await this.ctx.storage.setAlarm(when);
	}
}

/** The earliest of some deadlines, or null when there is none. */
export function earliest(...times: (number | null | undefined)[]): number | null {
	let out: number | null = null;
	for (const t of times) if (typeof t === "number" && Number.isFinite(t) && (out === null || t < out)) out = t;
	return out;
}
