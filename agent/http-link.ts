// The HTTP fallback link: a signed POST heartbeat every next_heartbeat_s, carrying answers to the last challenge.
import { ECHO_KIND, echoAnswer } from "../workers/domain/challenge.ts";
import { ApiError, callApi } from "./api.ts";
import { BACKOFF, nextBackoff, type BackoffPolicy } from "./backoff.ts";
import { messageOf } from "./errors.ts";
import { UNKNOWN_NODE, challengeResult, type LinkOutcome } from "./events.ts";
import type { LinkOptions } from "./ws-link.ts";

/** POST /v1/nodes/:id/heartbeat's answer. */
interface HeartbeatResponse {
	status: string;
	next_heartbeat_s: number;
	challenge: { id: string; kind: string; nonce: string; deadline: string } | null;
	results: { id: string; passed: boolean }[];
}

/** The coordinator accepts at most this many answers per beat. */
const MAX_ANSWERS = 4;
/** A shutdown waits at most this long for the coordinator to take the final "bye" beat. */
const BYE_TIMEOUT_MS = 3000;

export class HttpLink {
	private readonly o: LinkOptions;
	private readonly random: () => number;
	private readonly policy: BackoffPolicy;
	private stopping = false;
	private readonly abort = new AbortController();
	private timer: NodeJS.Timeout | null = null;
	private wake: (() => void) | null = null;
	/** The last beat was answered: on stop, the coordinator is told with a final "bye" beat. */
	private up = false;
	/** The final "bye" beat, once stop() sent it. */
	private bye: Promise<void> | null = null;

	constructor(o: LinkOptions) {
		this.o = o;
		this.random = o.random ?? Math.random;
		this.policy = o.backoff ?? BACKOFF;
	}

	/** Beats until stop() or a failure retrying cannot fix; after a stop, resolves once the "bye" is sent or gave up. */
	async run(): Promise<LinkOutcome> {
		const outcome = await this.loop();
		// The loop ends as soon as stop() wakes it, before the bye is out: the caller exits the process when this
		// resolves, so wait for it here (at most BYE_TIMEOUT_MS).
		await this.bye;
		this.o.emit({ event: "stopped", reason: outcome.reason, exit_code: outcome.exitCode });
		return outcome;
	}

	/**
	 * Stops between beats or aborts the one in flight, then says "bye" (one last beat, with a fresh token) so the node
	 * is offline at once, not after offline_after_s. Resolves when the bye was taken, refused or timed out.
	 */
	stop(): Promise<void> {
		if (this.stopping) return this.bye ?? Promise.resolve();
		this.stopping = true;
		this.abort.abort();
		if (this.timer) clearTimeout(this.timer);
		this.wake?.();
		this.bye = this.up ? this.sayBye() : Promise.resolve();
		return this.bye;
	}

	private async sayBye(): Promise<void> {
		try {
			const path = `/v1/nodes/${encodeURIComponent(this.o.nodeId)}/heartbeat`;
			await callApi(this.o.coordinatorUrl, "POST", path, {
				bearer: await this.o.mintToken(),
				body: { bye: true },
				signal: AbortSignal.timeout(BYE_TIMEOUT_MS),
			});
		} catch (err) {
			this.o.emit({
				event: "heartbeat_failed",
				status: err instanceof ApiError ? err.status : null,
				code: err instanceof ApiError ? err.code : null,
				message: `bye: ${messageOf(err)}`,
			});
		}
	}

	private async loop(): Promise<LinkOutcome> {
		let answers: { id: string; answer: string }[] = [];
		let failures = 0;
		let upSince: number | null = null;
		const path = `/v1/nodes/${encodeURIComponent(this.o.nodeId)}/heartbeat`;
		while (!this.stopping) {
			if (upSince === null) this.o.emit({ event: "connecting", attempt: failures });
			let token: string;
			try {
				token = await this.o.mintToken();
			} catch (err) {
				return {
					reason: "fatal",
					exitCode: 1,
					message: `Cannot sign a node token with the configured key: ${messageOf(err)}`,
				};
			}
			let res: HeartbeatResponse;
			try {
				res = await callApi<HeartbeatResponse>(this.o.coordinatorUrl, "POST", path, {
					bearer: token,
					body: { answers },
					signal: this.abort.signal,
				});
			} catch (err) {
				if (this.stopping) break;
				const api = err instanceof ApiError ? err : null;
				this.o.emit({
					event: "heartbeat_failed",
					status: api?.status ?? null,
					code: api?.code ?? null,
					message: api ? api.message : messageOf(err),
				});
				if (api?.status === 404) {
					return { reason: "unknown_node", exitCode: 1, message: UNKNOWN_NODE(this.o.nodeId) };
				}
				const next = nextBackoff(failures, upSince === null ? 0 : Date.now() - upSince, this.random, this.policy);
				failures = next.attempt;
				upSince = null;
				this.up = false;
				const delay = Math.max(next.delayMs, (api?.retryAfterS ?? 0) * 1000);
				this.o.emit({ event: "reconnecting", in_ms: delay, attempt: failures });
				await this.sleep(delay);
				continue;
			}
			answers = [];
			this.up = true;
			if (upSince === null) {
				upSince = Date.now();
				this.o.emit({ event: "connected", transport: "http" });
			}
			const nextS = Number.isFinite(res.next_heartbeat_s) && res.next_heartbeat_s > 0 ? res.next_heartbeat_s : 10;
			this.o.emit({ event: "heartbeat", status: String(res.status), next_heartbeat_s: nextS });
			for (const r of Array.isArray(res.results) ? res.results : []) {
				this.o.emit(challengeResult(r));
			}
			const c = res.challenge;
			if (c && typeof c.id === "string" && typeof c.nonce === "string") {
				// Answered with the next beat: the coordinator's deadline for HTTP nodes allows one heartbeat interval for it.
				const known = c.kind === ECHO_KIND;
				if (known) answers.push({ id: c.id, answer: await echoAnswer(this.o.nodeId, c.nonce) });
				answers = answers.slice(-MAX_ANSWERS);
				this.o.emit({ event: "challenge", id: c.id, kind: String(c.kind), answered: known });
			}
			await this.sleep(nextS * 1000);
		}
		return { reason: "signal", exitCode: 0 };
	}

	private sleep(ms: number): Promise<void> {
		return new Promise((resolve) => {
			if (this.stopping) return resolve();
			this.wake = resolve;
			this.timer = setTimeout(resolve, ms);
		});
	}
}
