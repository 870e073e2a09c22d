// The bandwidth measurement (docs/VERIFICATION.md §12): uploads and downloads the coordinator times, run when the agent
// connects and then every 24 h. A failure is reported and tried again later; it never stops the agent.
import { createHash, randomBytes } from "node:crypto";
import { RATE_LIMIT_TESTS } from "../workers/domain/bandwidth.ts";
import { ApiError, callApi, describeErrorBody, retryAfterSeconds } from "./api.ts";
import { CliError, messageOf } from "./errors.ts";
import type { AgentEvent, Emit } from "./events.ts";

/** Transfers per run and direction: the coordinator rates a direction from 4 samples on. */
export const TRANSFERS = 4;
/** Each upload's random body: inside the coordinator's 10–25 MB. */
export const UPLOAD_BYTES = 12_000_000;
/** A measurement runs again this long after one succeeded (while the agent runs). */
export const EVERY_MS = 24 * 3600_000;
/** After a failure, the next try waits at least this long (or the coordinator's Retry-After, if longer). */
export const RETRY_MS = 3600_000;
/** How long after a connection the first transfer starts: time for the coordinator's verification to arrive first. */
export const SETTLE_MS = 5_000;
/** A transfer slower than this is given up (the coordinator keeps a download test 120 s). */
const TRANSFER_TIMEOUT_MS = 110_000;
/** Hardware verification counts as running until its result, or this long after its last message. */
const VERIFY_QUIET_MS = 60_000;
/** Transfers interrupted by a verification starting are redone, at most this many times per run. */
const MAX_YIELDS = RATE_LIMIT_TESTS - TRANSFERS;

export interface BandwidthOptions {
	coordinatorUrl: string;
	nodeId: string;
	/** A fresh node token per request (each may start one test). */
	mintToken: () => Promise<string>;
	emit: Emit;
	uploads?: number;
	downloads?: number;
	uploadBytes?: number;
	everyMs?: number;
	retryMs?: number;
	settleMs?: number;
}

interface SampleAnswer {
	direction: "up" | "down";
	bytes: number;
	ms: number;
	mbps: number;
	bandwidth: { tier: string; up_mbps: number | null; down_mbps: number | null };
}

/** A transfer given up because a hardware verification began: redone once it has ended. */
class Yielded extends Error {}

/** Waits `ms`, or less if the signal aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		const done = () => {
			clearTimeout(timer);
			signal.removeEventListener("abort", done);
			resolve();
		};
		const timer = setTimeout(done, ms);
		signal.addEventListener("abort", done, { once: true });
	});
}

/**
 * Measures when due: on a connection (after SETTLE_MS), again EVERY_MS after a success, RETRY_MS (or the
 * coordinator's Retry-After) after a failure. Transfers never overlap a hardware verification: a transfer waits for
 * one to end, and one that a verification interrupts is redone.
 */
export class BandwidthRunner {
	private readonly o: Required<BandwidthOptions>;
	private readonly stopped = new AbortController();
	private connected = false;
	private due = 0;
	private running: Promise<void> | null = null;
	private timer: NodeJS.Timeout | null = null;
	private verifyingUntil = 0;
	private transfer: AbortController | null = null;

	constructor(o: BandwidthOptions) {
		this.o = {
			uploads: TRANSFERS,
			downloads: TRANSFERS,
			uploadBytes: UPLOAD_BYTES,
			everyMs: EVERY_MS,
			retryMs: RETRY_MS,
			settleMs: SETTLE_MS,
			...o,
		};
	}

	/** Feed it every event of the run: connections start a due measurement, verifications pause it. */
	observe(e: AgentEvent): void {
		switch (e.event) {
			case "connected":
				this.connected = true;
				this.wake(this.o.settleMs);
				break;
			case "disconnected":
			case "connect_failed":
			case "heartbeat_failed":
				this.connected = false;
				this.verifyingUntil = 0;
				break;
			case "verify":
			case "verify_commit":
			case "verify_open":
				this.verifyingUntil = Date.now() + VERIFY_QUIET_MS;
				this.transfer?.abort(new Yielded("a hardware verification began"));
				break;
			case "verify_result":
			case "verify_decline":
			case "verify_error":
				this.verifyingUntil = 0;
				break;
			case "stopping":
				void this.stop();
				break;
			default:
				break;
		}
	}

	/** Stops for good: no more runs; a transfer in flight is abandoned. */
	async stop(): Promise<void> {
		this.stopped.abort();
		if (this.timer) clearTimeout(this.timer);
		this.transfer?.abort();
		await this.running;
	}

	private wake(inMs: number): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = setTimeout(() => this.start(), Math.max(inMs, this.due - Date.now(), 0));
		this.timer.unref();
	}

	private start(): void {
		if (this.stopped.signal.aborted || this.running || !this.connected || Date.now() < this.due) return;
		this.running = this.measure().finally(() => (this.running = null));
	}

	private async measure(): Promise<void> {
		let next = this.o.everyMs;
		try {
			await measureBandwidth(this.o, (fn) => this.guarded(fn));
		} catch (err) {
			if (this.stopped.signal.aborted) return;
			const retryAfterS = err instanceof ApiError ? (err.retryAfterS ?? 0) : 0;
			next = Math.max(this.o.retryMs, retryAfterS * 1000);
			this.o.emit({ event: "bandwidth_error", message: messageOf(err), retry_in_s: Math.ceil(next / 1000) });
		}
		this.due = Date.now() + next;
		if (!this.stopped.signal.aborted) this.wake(next);
	}

	/** Runs one transfer outside any hardware verification, redoing it when one interrupts it. */
	private async guarded<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
		for (let yields = 0; ; yields++) {
			while (Date.now() < this.verifyingUntil && !this.stopped.signal.aborted)
				await sleep(Math.min(1000, this.verifyingUntil - Date.now()), this.stopped.signal);
			if (this.stopped.signal.aborted) throw new CliError("stopped");
			const transfer = new AbortController();
			this.transfer = transfer;
			try {
				return await fn(AbortSignal.any([transfer.signal, AbortSignal.timeout(TRANSFER_TIMEOUT_MS)]));
			} catch (err) {
				if (!(transfer.signal.reason instanceof Yielded) || yields >= MAX_YIELDS) throw err;
			} finally {
				this.transfer = null;
			}
		}
	}
}

type Guard = <T>(fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;

/** One measurement: the uploads, then the downloads, one at a time; throws on the first failure. */
export async function measureBandwidth(
	o: Required<Pick<BandwidthOptions, "uploads" | "downloads" | "uploadBytes">> & BandwidthOptions,
	guard: Guard = (fn) => fn(AbortSignal.timeout(TRANSFER_TIMEOUT_MS)),
): Promise<SampleAnswer["bandwidth"]> {
	o.emit({ event: "bandwidth_start", uploads: o.uploads, downloads: o.downloads });
	let last: SampleAnswer | null = null;
	for (let n = 1; n <= o.uploads; n++) {
		last = await guard((signal) => upload(o, signal));
		o.emit(sampleEvent(last, n, o.uploads));
	}
	for (let n = 1; n <= o.downloads; n++) {
		last = await guard((signal) => download(o, signal));
		o.emit(sampleEvent(last, n, o.downloads));
	}
	const b = last?.bandwidth ?? { tier: "unmeasured", up_mbps: null, down_mbps: null };
	o.emit({ event: "bandwidth_result", tier: b.tier, up_mbps: b.up_mbps, down_mbps: b.down_mbps });
	return b;
}

function sampleEvent(s: SampleAnswer, n: number, of: number): AgentEvent {
	return { event: "bandwidth_sample", direction: s.direction, n, of, bytes: s.bytes, ms: s.ms, mbps: s.mbps };
}

function path(o: BandwidthOptions, tail: string): string {
	return `/v1/nodes/${encodeURIComponent(o.nodeId)}/bandwidth/${tail}`;
}

/** A fetch whose error statuses become the coordinator's ApiError. */
async function send(o: BandwidthOptions, tail: string, init: RequestInit): Promise<Response> {
	const res = await fetch(`${o.coordinatorUrl}${path(o, tail)}`, {
		...init,
		method: "POST",
		headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${await o.mintToken()}` },
	});
	if (!res.ok) {
		const { code, message } = describeErrorBody(res.status, res.statusText, await res.text());
		throw new ApiError(res.status, code, message, retryAfterSeconds(res.headers.get("retry-after")));
	}
	return res;
}

/** Sends a fresh random body; the coordinator times it from its request's start to the last byte. */
async function upload(o: Required<Pick<BandwidthOptions, "uploadBytes">> & BandwidthOptions, signal: AbortSignal) {
	const res = await send(o, "upload", {
		headers: { "content-type": "application/octet-stream", accept: "application/json" },
		body: randomBytes(o.uploadBytes),
		signal,
	});
	return (await res.json()) as SampleAnswer;
}

/** Fetches a test blob, hashes it as it arrives, and answers with the hash (the coordinator's clock stops there). */
async function download(o: BandwidthOptions, signal: AbortSignal) {
	const res = await send(o, "download", { signal });
	const test = res.headers.get("x-pulsegrid-bandwidth-test");
	if (!test || !res.body) throw new CliError("The coordinator's download test came without its test id or body.");
	const hash = createHash("sha256");
	for await (const chunk of res.body) hash.update(chunk);
	return callApi<SampleAnswer>(o.coordinatorUrl, "POST", path(o, `download/${encodeURIComponent(test)}`), {
		bearer: await o.mintToken(),
		body: { sha256: hash.digest("hex") },
		signal,
	});
}
