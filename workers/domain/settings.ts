// Liveness, epoch and points settings: parsed once from wrangler vars, with the defaults that meet DESIGN §6.

export interface Settings {
	/** How often an agent sends its keepalive ("ping"). */
	heartbeatIntervalS: number;
	/** Silence longer than this marks a node offline. */
	offlineAfterS: number;
	/** How often a shard's alarm sweeps its nodes. */
	sweepIntervalS: number;
	/** Mean seconds between two availability challenges to the same node. */
	challengeEveryS: number;
	/** Seconds a node has to answer a challenge. */
	challengeTimeoutS: number;
	/** How often a shard checkpoints its clock and challenge counters. */
	checkpointS: number;
	/** Number of liveness shards per region. */
	shardCount: number;
	/** A shard incident opens when at least this many nodes drop within one window… */
	incidentMinNodes: number;
	/** …and they are at least this fraction of the nodes that were online… */
	incidentFraction: number;
	/** …of at least this many accounts… */
	incidentMinAccounts: number;
	/** …on at least this many networks (IPv4 /24, IPv6 /48). */
	incidentMinNetworks: number;
	epochSeconds: number;
	/** A node earns no availability points in an epoch that starts less than this long after it registered; 0: off. */
	probationS: number;
	/** GPUs whose availability one address (an IPv4 address, an IPv6 /64) is paid for in full (docs/POINTS.md). */
	addressAllowanceGpus: number;
}

export const DEFAULT_SETTINGS: Settings = {
	heartbeatIntervalS: 10,
	offlineAfterS: 30,
	sweepIntervalS: 10,
	challengeEveryS: 900,
	challengeTimeoutS: 10,
	checkpointS: 30,
	shardCount: 16,
	incidentMinNodes: 10,
	incidentFraction: 0.5,
	incidentMinAccounts: 3,
	incidentMinNetworks: 3,
	epochSeconds: 3600,
	probationS: 86_400,
	addressAllowanceGpus: 8,
};

const VARS = {
	heartbeatIntervalS: "HEARTBEAT_INTERVAL_S",
	offlineAfterS: "OFFLINE_AFTER_S",
	sweepIntervalS: "SWEEP_INTERVAL_S",
	challengeEveryS: "CHALLENGE_EVERY_S",
	challengeTimeoutS: "CHALLENGE_TIMEOUT_S",
	checkpointS: "CHECKPOINT_S",
	shardCount: "SHARD_COUNT",
	incidentMinNodes: "INCIDENT_MIN_NODES",
	incidentFraction: "INCIDENT_FRACTION",
	incidentMinAccounts: "INCIDENT_MIN_ACCOUNTS",
	incidentMinNetworks: "INCIDENT_MIN_NETWORKS",
	epochSeconds: "EPOCH_SECONDS",
	probationS: "PROBATION_S",
	addressAllowanceGpus: "ADDRESS_ALLOWANCE_GPUS",
} as const satisfies Record<keyof Settings, string>;

/** The wrangler vars these settings are read from (Env, process.env or a plain record all fit). */
export type SettingVars = { readonly [K in (typeof VARS)[keyof Settings]]?: unknown };

/** Settings for which 0 is a value (it turns the rule off) rather than a missing one. */
const ZERO_ALLOWED: ReadonlySet<keyof Settings> = new Set(["probationS"]);

/**
 * Reads settings from an env-like record; a missing or non-positive value falls back to its default (0 is kept for
 * the settings in ZERO_ALLOWED).
 */
export function readSettings(vars: SettingVars): Settings {
	const out = { ...DEFAULT_SETTINGS };
	for (const key of Object.keys(VARS) as (keyof Settings)[]) {
		const raw = vars[VARS[key]];
		const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
		if (Number.isFinite(n) && (n > 0 || (n === 0 && ZERO_ALLOWED.has(key)))) out[key] = n;
	}
	if (out.offlineAfterS <= out.heartbeatIntervalS) {
		throw new Error(
			`OFFLINE_AFTER_S (${out.offlineAfterS}) must exceed HEARTBEAT_INTERVAL_S (${out.heartbeatIntervalS})`,
		);
	}
	return out;
}
