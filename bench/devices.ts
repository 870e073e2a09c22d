// The adversarial scenario's simulated hardware and lines: GPUs with their datasheet throughput, one device's
// throughput shared among the identities it serves (time-sliced or queued), and per-message latency with jitter and
// spikes. Pure: time and randomness are arguments.
import {
	ASSUMED_EFFICIENCY,
	CHALLENGE_SIZES,
	challengeClass,
	proofMs,
	TARGET_SECONDS,
} from "../workers/domain/matmul.ts";

/** The GPUs the fleet has, with their dense INT8 tensor rate (no sparsity), as the challenge sizes count it. */
export const GPUS = {
	"H100 PCIe": {
		int8_tops: 1513,
		source: "NVIDIA H100 PCIe product brief: 3,026 INT8 TOPS with sparsity, half dense (matmul.ts CHALLENGE_SIZES)",
	},
	A100: { int8_tops: 624, source: "NVIDIA A100 datasheet: 624 INT8 TOPS dense (matmul.ts CHALLENGE_SIZES)" },
	"RTX 4090": {
		int8_tops: 660.6,
		source: "NVIDIA Ada Lovelace whitepaper: 660.6 INT8 TOPS dense (matmul.ts CHALLENGE_SIZES)",
	},
	"RTX 4080": {
		int8_tops: 389.9,
		source:
			"NVIDIA Ada Lovelace whitepaper: RTX 4080 389.9 INT8 tensor TOPS dense, 779.8 with sparsity " +
			"(304 tensor cores × 2,505 MHz × 512 operations a clock, the rate per core that gives the 4090's 660.6)",
	},
	"RTX 3090": {
		int8_tops: 284,
		source: "NVIDIA Ampere GA102 whitepaper: RTX 3090 284 INT8 tensor TOPS dense, 568 with sparsity",
	},
} as const;
export type GpuModel = keyof typeof GPUS;

/**
 * The device model's parameters. A challenge is sized so that the slowest model of the claimed class takes
 * TARGET_SECONDS (8 s) at ASSUMED_EFFICIENCY (25 %) of its peak; the claim is proven by a commit within the p99
 * (uncalibrated: 8,000 ms) × 1.05 + the measured round trip (`proofMs`), and the coordinator waits until p99 × 1.25 +
 * the round trip (`deadlineMs`). An honest card of the class is modelled to take NOMINAL_SHARE of TARGET_SECONDS, so
 * its solver runs at ASSUMED_EFFICIENCY / NOMINAL_SHARE ≈ 34 % of peak; each device's throughput is off by up to
 * ±UNEVENNESS (clocks, cooling, power limit, PCIe, driver), so honest cards take 0.60–0.91 of TARGET_SECONDS, and
 * each challenge's work by up to ±JITTER (scheduling noise).
 */
const NOMINAL_SHARE = 0.725;
export const DEVICE_MODEL = {
	nominal_s: NOMINAL_SHARE * TARGET_SECONDS,
	unevenness: 0.2,
	jitter: 0.03,
	why:
		`an honest card of the claimed class takes ${NOMINAL_SHARE * TARGET_SECONDS} s (${NOMINAL_SHARE} of the ` +
		`challenge's target, ± 20 % unevenness), inside the uncalibrated p99 of ${TARGET_SECONDS * 1000} ms that sizes ` +
		"the challenge; the claim is proven within 5 % more plus the round trip",
} as const;
export const EFFICIENCY = (ASSUMED_EFFICIENCY * TARGET_SECONDS) / DEVICE_MODEL.nominal_s;

/** Multiply-adds a second of one device: datasheet peak (two operations each) × EFFICIENCY × its own factor. */
export function macsPerSecond(model: GpuModel, unevenness: number): number {
	return ((GPUS[model].int8_tops * 1e12) / 2) * EFFICIENCY * unevenness;
}

/** The work of one challenge part at the real size for a claimed model (the coordinator sends a small stand-in). */
export function challengeWork(claimedModel: string): number {
	const { rows, inner, cols } = CHALLENGE_SIZES[challengeClass(claimedModel)].shape;
	return rows * inner * cols;
}

/** How long a device of `model` alone takes for a claim, in ms (no sharing, no jitter). */
export function soloMs(model: GpuModel, unevenness: number, claimedModel: string): number {
	return (challengeWork(claimedModel) / macsPerSecond(model, unevenness)) * 1000;
}

/** The slowest a device can be and still commit in time, as a share of a nominal card of the class (no network). */
export function passingShare(claimedModel: string, rttMs: number): number {
	return (DEVICE_MODEL.nominal_s * 1000) / proofMs(challengeClass(claimedModel), rttMs);
}

/**
 * The share of `real` cards (throughput factor uniform in 1 ± UNEVENNESS) whose commit alone proves `claimed`
 * (`proofMs`), when the node has `holdMs` more round trip counted than its line has: what the device model expects
 * of an overclaim, without jitter or the line's own delays.
 */
export function expectedPassShare(real: GpuModel, claimed: string, holdMs: number): number {
	const slowestPassing = soloMs(real, 1, claimed) / (proofMs(challengeClass(claimed), 0) + holdMs);
	const u = DEVICE_MODEL.unevenness;
	return Math.min(1, Math.max(0, (1 + u - slowestPassing) / (2 * u)));
}

/**
 * How a device serves the challenges of the identities it holds: `share` time-slices (every running challenge gets
 * an equal share of the throughput, as CUDA contexts of several processes do), `queue` runs them one after another
 * in arrival order (a farm's own scheduler: the first finishes as fast as a card of its own).
 */
export type Policy = "share" | "queue";

interface Job {
	id: string;
	remaining: number;
}

/** One device's challenges in progress; `now` in ms, work in multiply-adds. */
export class DeviceQueue {
	private jobs: Job[] = [];
	private at = 0;
	readonly perMs: number;
	readonly policy: Policy;

	constructor(macsPerSec: number, policy: Policy) {
		this.perMs = macsPerSec / 1000;
		this.policy = policy;
	}

	get busy(): number {
		return this.jobs.length;
	}

	/** Starts a job at `now`; returns the jobs that finished before it arrived. */
	submit(id: string, work: number, now: number): { id: string; at: number }[] {
		const done = this.advance(now);
		this.jobs.push({ id, remaining: work });
		return done;
	}

	/** Drops a job (its identity went away); returns the jobs finished up to `now`. */
	cancel(id: string, now: number): { id: string; at: number }[] {
		const done = this.advance(now);
		this.jobs = this.jobs.filter((j) => j.id !== id);
		return done;
	}

	/** Runs the device up to `now`: the jobs finished by then, each with the moment it finished. */
	advance(now: number): { id: string; at: number }[] {
		const done: { id: string; at: number }[] = [];
		if (this.jobs.length === 0) {
			this.at = Math.max(this.at, now);
			return done;
		}
		while (this.jobs.length > 0 && this.at < now) {
			const running = this.policy === "share" ? this.jobs : this.jobs.slice(0, 1);
			const rate = this.perMs / running.length;
			const least = Math.min(...running.map((j) => j.remaining));
			const step = least / rate;
			if (this.at + step > now) {
				for (const j of running) j.remaining -= (now - this.at) * rate;
				this.at = now;
				break;
			}
			this.at += step;
			for (const j of running) j.remaining -= least;
			for (const j of running.filter((x) => x.remaining <= 1e-6)) done.push({ id: j.id, at: this.at });
			this.jobs = this.jobs.filter((x) => x.remaining > 1e-6);
		}
		this.at = Math.max(this.at, now);
		return done;
	}

	/** When the next job will finish if nothing else arrives, or null when idle. */
	nextFinish(): number | null {
		if (this.jobs.length === 0) return null;
		const running = this.policy === "share" ? this.jobs : this.jobs.slice(0, 1);
		return this.at + Math.min(...running.map((j) => j.remaining)) / (this.perMs / running.length);
	}
}

/**
 * A jittery line, one direction: every message takes `base` ms, plus an exponential extra of mean `jitter` ms, plus
 * with probability `spikeP` a spike uniform in `spike` (a congested uplink, Wi-Fi retries, a TCP retransmission). One
 * TCP stream: a message never overtakes the one before it.
 */
export interface LineSpec {
	baseMs: number;
	jitterMs: number;
	spikeP: number;
	spikeMs: [number, number];
}

export const LINES = {
	base_ms: [10, 120] as [number, number],
	jitter_share: 0.25,
	spike_p: 0.02,
	spike_ms: [200, 1500] as [number, number],
	why:
		"one-way 10–120 ms (a home or data-centre line to the nearest edge), exponential jitter of mean a quarter " +
		"of that, and one message in 50 delayed 0.2–1.5 s more",
} as const;

export function lineSpec(random: () => number): LineSpec {
	const baseMs = LINES.base_ms[0] + random() * (LINES.base_ms[1] - LINES.base_ms[0]);
	return { baseMs, jitterMs: baseMs * LINES.jitter_share, spikeP: LINES.spike_p, spikeMs: LINES.spike_ms };
}

export class Line {
	private last = 0;
	readonly spec: LineSpec;
	private readonly random: () => number;
	spikes = 0;

	constructor(spec: LineSpec, random: () => number) {
		this.spec = spec;
		this.random = random;
	}

	/** When a message sent at `now` arrives. */
	arrival(now: number): number {
		const s = this.spec;
		let d = s.baseMs - s.jitterMs * Math.log(1 - this.random());
		if (this.random() < s.spikeP) {
			this.spikes++;
			d += s.spikeMs[0] + this.random() * (s.spikeMs[1] - s.spikeMs[0]);
		}
		this.last = Math.max(this.last, now + d);
		return this.last;
	}
}
