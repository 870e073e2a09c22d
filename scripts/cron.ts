// Cron triggers for local runs: `wrangler dev` never fires them, so `npm start` (and a coordinator started with
// `cron`) runs a ticker that fires each of wrangler.toml's `[triggers] crons` on its schedule, as production does.
// No Node imports: the parser's unit tests run in the Workers runtime.

/** A parsed cron expression: the values each field allows. Times are UTC, as Cloudflare's cron triggers are. */
export interface CronSchedule {
	readonly expr: string;
	/** Null for a standard five-field expression (it fires at second 0); a six-field one starts with seconds. */
	readonly seconds: ReadonlySet<number> | null;
	readonly minutes: ReadonlySet<number>;
	readonly hours: ReadonlySet<number>;
	readonly days: ReadonlySet<number>;
	readonly months: ReadonlySet<number>;
	/** 0 = Sunday (7 is read as Sunday too). */
	readonly weekdays: ReadonlySet<number>;
	/** Day of month or weekday written with `*`: a day must match both; when neither is, either (as in cron). */
	readonly anyDay: boolean;
	readonly anyWeekday: boolean;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** One field: comma-separated `*`, `n`, `a-b`, each optionally `/step`; names for months and weekdays. */
function field(expr: string, text: string, what: string, min: number, max: number, names?: string[]): Set<number> {
	const fail = (why: string): never => {
		throw new Error(`cron "${expr}": ${what} field "${text}" ${why}`);
	};
	const value = (raw: string): number => {
		if (/^\d+$/.test(raw)) return Number(raw);
		const named = names?.indexOf(raw.toUpperCase()) ?? -1;
		if (named >= 0) return named + min;
		return fail(`has "${raw}", which is not a number${names ? " or a name" : ""} (L, W, # and ? are not supported)`);
	};
	const out = new Set<number>();
	for (const part of text.split(",")) {
		const [range = "", stepText, extra] = part.split("/");
		if (extra !== undefined) fail("has two steps");
		const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) ? Number(stepText) : fail("has a bad step");
		if (step < 1) fail("has a step below 1");
		let lo: number;
		let hi: number;
		if (range === "*") [lo, hi] = [min, max];
		else if (range.includes("-")) {
			const [a = "", b = "", more] = range.split("-");
			if (more !== undefined) fail("has a range with two dashes");
			[lo, hi] = [value(a), value(b)];
		} else {
			lo = value(range);
			hi = stepText === undefined ? lo : max; // `a/step`: from a to the end
		}
		if (lo < min || hi > max) fail(`is outside ${min}-${max}`);
		if (lo > hi) fail("has a range that ends before it starts");
		for (let v = lo; v <= hi; v += step) out.add(v);
	}
	return out;
}

/** Parses a standard five-field expression, or a six-field one with a leading seconds field (for short test runs). */
export function parseCron(expr: string): CronSchedule {
	const fields = expr.trim().split(/\s+/);
	if (fields.length !== 5 && fields.length !== 6) {
		throw new Error(`cron "${expr}": expected 5 fields (minute hour day month weekday), or 6 with seconds first`);
	}
	const [secondsText, ...rest] = fields.length === 6 ? fields : [null, ...fields];
	const [minutes = "", hours = "", days = "", months = "", weekdays = ""] = rest as string[];
	const weekdaySet = field(expr, weekdays, "weekday", 0, 7, WEEKDAYS);
	if (weekdaySet.delete(7)) weekdaySet.add(0);
	return {
		expr,
		seconds: secondsText === null ? null : field(expr, secondsText, "second", 0, 59),
		minutes: field(expr, minutes, "minute", 0, 59),
		hours: field(expr, hours, "hour", 0, 23),
		days: field(expr, days, "day", 1, 31),
		months: field(expr, months, "month", 1, 12, MONTHS),
		weekdays: weekdaySet,
		anyDay: days.startsWith("*"),
		anyWeekday: weekdays.startsWith("*"),
	};
}

function dayMatches(s: CronSchedule, d: Date): boolean {
	const day = s.days.has(d.getUTCDate());
	const weekday = s.weekdays.has(d.getUTCDay());
	return s.anyDay || s.anyWeekday ? day && weekday : day || weekday;
}

/** The first instant strictly after `after` (ms since the epoch) that the schedule fires at. */
export function nextFire(s: CronSchedule, after: number): number {
	const unit = s.seconds ? 1000 : 60_000;
	let t = Math.floor(after / unit) * unit + unit;
	const horizon = after + 50 * 366 * 86_400_000; // an expression like "0 0 30 2 *" never matches
	while (t <= horizon) {
		const d = new Date(t);
		const [y, mo, day, h, mi] = [
			d.getUTCFullYear(),
			d.getUTCMonth(),
			d.getUTCDate(),
			d.getUTCHours(),
			d.getUTCMinutes(),
		];
		if (!s.months.has(mo + 1)) t = Date.UTC(y, mo + 1, 1);
		else if (!dayMatches(s, d)) t = Date.UTC(y, mo, day + 1);
		else if (!s.hours.has(h)) t = Date.UTC(y, mo, day, h + 1);
		else if (!s.minutes.has(mi)) t = Date.UTC(y, mo, day, h, mi + 1);
		else if (s.seconds && !s.seconds.has(d.getUTCSeconds())) t += 1000;
		else return t;
	}
	throw new Error(`cron "${s.expr}" never fires`);
}

/** The `crons` of wrangler.toml's `[triggers]` table (the subset of TOML it is written in). */
export function cronsOf(toml: string): string[] {
	const lines = toml.split("\n").filter((l) => !/^\s*#/.test(l));
	const start = lines.findIndex((l) => /^\s*\[triggers\]\s*$/.test(l));
	if (start < 0) return [];
	const end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
	const table = lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
	const list = /^\s*crons\s*=\s*\[([^\]]*)\]/m.exec(table)?.[1] ?? "";
	return [...list.matchAll(/"([^"]*)"|'([^']*)'/g)].map((m) => (m[1] ?? m[2]) as string);
}

export interface CronTickerOptions {
	/** The local coordinator, e.g. http://127.0.0.1:8787. */
	url: string;
	crons: readonly string[];
	/** Receives one line per firing (and one when the ticker starts). */
	log: (line: string) => void;
}

export interface CronTicker {
	/** Settles when the firing at start has run: in production the handler's first run opens the first epoch. */
	readonly started: Promise<void>;
	stop(): void;
}

const DAY_MS = 86_400_000;

/**
 * Fires the scheduled handler once at start (as the first expression: a fresh deployment's first cron run opens the
 * first epoch, so points accrue from start), then each expression on its schedule, through the dev server's
 * `/cdn-cgi/local/scheduled` endpoint with the scheduled time, as production passes it. A firing that is due while
 * the previous one runs starts anyway, as in production; a missed one (the machine slept) is not repeated.
 */
export function startCronTicker(o: CronTickerOptions): CronTicker {
	const schedules = o.crons.map(parseCron);
	let stopped = false;
	const timers = new Set<Parameters<typeof clearTimeout>[0]>();
	const later = (fn: () => void, ms: number): void => {
		const timer = setTimeout(() => {
			timers.delete(timer);
			fn();
		}, ms);
		(timer as { unref?: () => void }).unref?.(); // never what keeps a test process alive
		timers.add(timer);
	};

	const fire = async (expr: string, at: number, what: string): Promise<void> => {
		const began = Date.now();
		const query = new URLSearchParams({ cron: expr, time: String(at), format: "json" });
		let outcome: string;
		try {
			const res = await fetch(`${o.url}/cdn-cgi/local/scheduled?${query}`);
			const body = (await res.json().catch(() => null)) as { outcome?: string } | null;
			outcome = body?.outcome ?? `HTTP ${res.status}`;
		} catch (err) {
			outcome = `not delivered (${err instanceof Error ? err.message : String(err)})`;
		}
		if (!stopped) o.log(`cron "${expr}" ${what} ${new Date(at).toISOString()}: ${outcome} (${Date.now() - began} ms)`);
	};

	const arm = (s: CronSchedule, after: number): void => {
		const due = nextFire(s, after);
		const check = (): void => {
			if (stopped) return;
			const wait = due - Date.now();
			if (wait > 0) {
				later(check, Math.min(wait, DAY_MS)); // a timer cannot wait longer than ~24 days
				return;
			}
			void fire(s.expr, due, "fired for");
			arm(s, Math.max(due, Date.now()));
		};
		check();
	};

	const first = schedules[0];
	if (!first) return { started: Promise.resolve(), stop: () => {} };
	o.log(`running the cron triggers locally (UTC): ${schedules.map((s) => `"${s.expr}"`).join(", ")}`);
	const now = Date.now();
	const started = fire(first.expr, now, "at start,");
	for (const s of schedules) arm(s, now);
	return {
		started,
		stop() {
			stopped = true;
			for (const timer of timers) clearTimeout(timer);
			timers.clear();
		},
	};
}
