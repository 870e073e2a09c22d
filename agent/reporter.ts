// Prints a running agent's events: a live status line on a TTY, else one line (or one JSON object) per event.
import type { AgentEvent } from "./events.ts";
import { QUIET_EVENTS } from "./events.ts";

export type ReportMode = "tty" | "lines" | "json";

export interface Reporter {
	emit(e: AgentEvent): void;
	/** Stops redrawing and leaves the cursor on a fresh line. */
	close(): void;
}

interface Out {
	write(s: string): unknown;
}

/** One JSON object per event: {"event": name, "at": ISO time, ...fields}. */
export function jsonLine(e: AgentEvent, at: number): string {
	const { event, ...fields } = e;
	return JSON.stringify({ event, at: new Date(at).toISOString(), ...fields });
}

/** One human line per event: "ISO-time event key=value ...". */
export function textLine(e: AgentEvent, at: number): string {
	const { event, ...fields } = e;
	const parts = Object.entries(fields).map(
		([k, v]) => `${k}=${typeof v === "string" && /\s|^$/.test(v) ? JSON.stringify(v) : String(v)}`,
	);
	return [new Date(at).toISOString(), event, ...parts].join(" ");
}

export function duration(ms: number): string {
	const s = Math.max(0, Math.floor(ms / 1000));
	if (s < 60) return `${s}s`;
	const m = Math.floor(s / 60);
	if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
	const h = Math.floor(m / 60);
	return `${h}h${String(m % 60).padStart(2, "0")}m`;
}

/** What the status line shows, folded from events. */
export class LiveState {
	state = "starting";
	nodeId = "";
	transport = "ws";
	connectedAt: number | null = null;
	lastPongAt: number | null = null;
	reconnectAt: number | null = null;
	passed = 0;
	/** Results the coordinator told (each one is counted in the ledger, in the epoch it names). */
	told = 0;
	/** Clusters this node is working for. */
	jobs = new Set<string>();
	/** Hardware verification as last heard: "verifying hardware", "hardware verified (1840 ms)"…; null before any. */
	verification: string | null = null;

	apply(e: AgentEvent, now: number): void {
		switch (e.event) {
			case "starting":
				this.nodeId = e.node_id;
				this.transport = e.transport;
				break;
			case "connecting":
				this.state = "connecting";
				this.reconnectAt = null;
				break;
			case "connected":
				this.state = "connected";
				this.connectedAt = now;
				this.lastPongAt = now;
				break;
			case "welcome":
				this.state = e.status;
				break;
			case "status":
				this.state = e.status;
				break;
			case "heartbeat":
				this.state = e.status;
				this.lastPongAt = now;
				break;
			case "pong":
				this.lastPongAt = now;
				break;
			case "challenge_result":
				this.told++;
				if (e.passed) this.passed++;
				break;
			case "verify":
				this.verification = "verifying hardware";
				break;
			case "verify_decline":
				this.verification = "verification declined";
				break;
			case "verify_result":
				this.verification = verificationText(e);
				break;
			case "ready":
				this.jobs.add(e.cluster_id);
				break;
			case "release":
				this.jobs.delete(e.cluster_id);
				break;
			case "disconnected":
			case "connect_failed":
			case "heartbeat_failed":
				this.state = "disconnected";
				this.connectedAt = null;
				// A verification cut by a disconnect is void; the coordinator runs it again on the next connection.
				if (this.verification === "verifying hardware") this.verification = null;
				break;
			case "reconnecting":
				this.state = "reconnecting";
				this.reconnectAt = now + e.in_ms;
				break;
			case "stopping":
				this.state = "stopping";
				break;
			case "stopped":
				this.state = "stopped";
				this.connectedAt = null;
				break;
			default:
				break;
		}
	}

	render(now: number): string {
		const state =
			this.state === "reconnecting" && this.reconnectAt !== null
				? `reconnecting in ${Math.max(0, Math.ceil((this.reconnectAt - now) / 1000))}s`
				: this.state;
		const up = this.connectedAt === null ? "not connected" : `up ${duration(now - this.connectedAt)}`;
		const seen =
			this.lastPongAt === null
				? ""
				: `  ${this.transport === "http" ? "beat" : "pong"} ${duration(now - this.lastPongAt)} ago`;
		const work = this.jobs.size ? `  rented to ${[...this.jobs].join(", ")}` : "";
		const verified = this.verification === null ? "" : `  ${this.verification}`;
		return `${state}  ${this.nodeId}  ${up}${seen}  challenges ${this.passed}/${this.told} passed${verified}${work}`;
	}
}

/** A verification verdict for people: "hardware verified (1840 ms)", "verification failed: late". */
export function verificationText(e: Extract<AgentEvent, { event: "verify_result" }>): string {
	if (e.state === "verified")
		return e.measured_ms === null ? "hardware verified" : `hardware verified (${e.measured_ms} ms)`;
	if (e.state === "failed") return `verification failed: ${e.reason ?? "no reason given"}`;
	return `verification ${e.state}`;
}

/** Events worth a permanent line above the TTY status line. */
const NOTABLE = new Set<AgentEvent["event"]>([
	"connect_failed",
	"disconnected",
	"keepalive_timeout",
	"server_error",
	"heartbeat_failed",
	"stopped",
	"assign",
	"release",
	"verify_decline",
	"verify_error",
	"bandwidth_start",
	"bandwidth_sample",
	"bandwidth_result",
	"bandwidth_error",
]);

export function createReporter(mode: ReportMode, out: Out = process.stdout, now: () => number = Date.now): Reporter {
	if (mode === "json") {
		return {
			emit: (e) => {
				if (!QUIET_EVENTS.has(e.event)) out.write(`${jsonLine(e, now())}\n`);
			},
			close: () => {},
		};
	}
	if (mode === "lines") {
		return {
			emit: (e) => {
				if (!QUIET_EVENTS.has(e.event)) out.write(`${textLine(e, now())}\n`);
			},
			close: () => {},
		};
	}
	const live = new LiveState();
	const CLEAR = "\r\x1b[2K";
	const draw = () => out.write(`${CLEAR}${live.render(now())}`);
	const timer = setInterval(draw, 1000);
	timer.unref();
	return {
		emit(e) {
			live.apply(e, now());
			if (e.event === "verify_result") out.write(`${CLEAR}${new Date(now()).toISOString()} ${verificationText(e)}\n`);
			else if (NOTABLE.has(e.event) || (e.event === "challenge_result" && !e.passed))
				out.write(`${CLEAR}${textLine(e, now())}\n`);
			draw();
		},
		close() {
			clearInterval(timer);
			out.write(`${CLEAR}${live.render(now())}\n`);
		},
	};
}
