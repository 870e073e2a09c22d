// The one reader of configuration: wrangler vars (and `.dev.vars` locally) → typed settings, defaults and API roots.
import { DEFAULT_ALERT_RULES, type AlertRules } from "./domain/alerts.ts";
import { shapeProblem, type Shape } from "./domain/matmul.ts";
import { readSettings, type SettingVars, type Settings } from "./domain/settings.ts";

export const DEFAULT_TELEGRAM_API_ROOT = "https://api.telegram.org";
export const DEFAULT_DISCORD_API_ROOT = "https://discord.com/api/v10";
export const DEFAULT_TELEGRAM_BOT_USERNAME = "pulsegrid_bot";

/** The vars read here; `Env`, `process.env` and a `.dev.vars` record all fit. */
export type ConfigVars = SettingVars & {
	readonly [K in
		| "ALERT_GROUP_WINDOW_S"
		| "ALERT_EDIT_WINDOW_S"
		| "ALERT_FLAP_COUNT"
		| "ALERT_FLAP_WINDOW_S"
		| "TELEGRAM_API_ROOT"
		| "TELEGRAM_BOT_USERNAME"
		| "DISCORD_API_ROOT"
		| "DISCORD_STAFF_ROLE_IDS"
		| "DISCORD_STAFF_USER_IDS"
		| "DISCORD_STAFF_CHANNEL_ID"
		| "VERIFY_SECRET"
		| "VERIFY_SHAPE"
		| "VERIFY_ROUND_INTERVAL_S"
		| "ADMIN_TOKEN"]?: string | undefined;
};

export interface Config {
	/** Liveness, challenges, shards, incidents, epochs and the points rules (`workers/domain/settings.ts`). */
	liveness: Settings;
	/** Alert grouping, edits and flap damping. */
	alertRules: AlertRules;
	telegram: {
		/** The Bot API root, without a trailing slash (tests point it at a local fake). */
		apiRoot: string;
		/** The bot's @username without the @, for `https://t.me/<bot>?start=<code>` links. */
		botUsername: string;
	};
	discord: {
		/** Discord's REST root, without a trailing slash: the bot's calls and alert webhooks. */
		apiRoot: string;
		staffRoleIds: ReadonlySet<string>;
		staffUserIds: ReadonlySet<string>;
		/** Where tickets are posted; null: not posted. */
		staffChannelId: string | null;
	};
	/** Hardware verification (docs/VERIFICATION.md). */
	verify: {
		/** The HMAC key of challenge seeds: VERIFY_SECRET, else the admin token. */
		secret: string;
		/** A shape for every claim instead of the table's (local runs and tests: `ROWSxINNERxCOLS`); null: the table. */
		shape: Shape | null;
		/** How often the cron starts a co-scheduled round (§14), in seconds; 0: only when staff start one. */
		roundIntervalS: number;
	};
}

const cache = new WeakMap<object, Config>();

/** Typed configuration of an environment, parsed once per env object; a missing or invalid value keeps its default. */
export function readConfig(vars: ConfigVars): Config {
	const hit = cache.get(vars);
	if (hit) return hit;
	const config: Config = {
		liveness: readSettings(vars),
		alertRules: {
			groupWindowMs: seconds(vars.ALERT_GROUP_WINDOW_S, DEFAULT_ALERT_RULES.groupWindowMs),
			editWindowMs: seconds(vars.ALERT_EDIT_WINDOW_S, DEFAULT_ALERT_RULES.editWindowMs),
			flapCount: positive(vars.ALERT_FLAP_COUNT, DEFAULT_ALERT_RULES.flapCount),
			flapWindowMs: seconds(vars.ALERT_FLAP_WINDOW_S, DEFAULT_ALERT_RULES.flapWindowMs),
		},
		telegram: {
			apiRoot: root(vars.TELEGRAM_API_ROOT, DEFAULT_TELEGRAM_API_ROOT),
			botUsername: vars.TELEGRAM_BOT_USERNAME?.replace(/^@/, "") || DEFAULT_TELEGRAM_BOT_USERNAME,
		},
		discord: {
			apiRoot: root(vars.DISCORD_API_ROOT, DEFAULT_DISCORD_API_ROOT),
			staffRoleIds: idList(vars.DISCORD_STAFF_ROLE_IDS),
			staffUserIds: idList(vars.DISCORD_STAFF_USER_IDS),
			staffChannelId: vars.DISCORD_STAFF_CHANNEL_ID?.trim() || null,
		},
		verify: {
			secret: vars.VERIFY_SECRET || vars.ADMIN_TOKEN || "",
			shape: shapeOf(vars.VERIFY_SHAPE),
			roundIntervalS: vars.VERIFY_ROUND_INTERVAL_S === "0" ? 0 : positive(vars.VERIFY_ROUND_INTERVAL_S, 3600),
		},
	};
	cache.set(vars, config);
	return config;
}

function positive(raw: string | undefined, fallback: number): number {
	const n = Number(raw);
	return raw !== undefined && raw !== "" && Number.isFinite(n) && n > 0 ? n : fallback;
}

/** A var in seconds, returned in milliseconds; `fallbackMs` is already in milliseconds. */
function seconds(raw: string | undefined, fallbackMs: number): number {
	return positive(raw, fallbackMs / 1000) * 1000;
}

function root(raw: string | undefined, fallback: string): string {
	return (raw || fallback).replace(/\/+$/, "");
}

/** `ROWSxINNERxCOLS` (e.g. `64x64x32`) when it is a valid challenge shape, else null. */
function shapeOf(raw: string | undefined): Shape | null {
	const m = /^(\d+)x(\d+)x(\d+)$/.exec(raw?.trim() ?? "");
	if (!m) return null;
	const shape = { rows: Number(m[1]), inner: Number(m[2]), cols: Number(m[3]) };
	return shapeProblem(shape) === null ? shape : null;
}

/** Discord ids separated by commas or spaces; anything that is not an id (digits) is ignored. */
export function idList(raw: string | undefined): ReadonlySet<string> {
	return new Set((raw ?? "").split(/[\s,]+/).filter((s) => /^\d{1,25}$/.test(s)));
}
