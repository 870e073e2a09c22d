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
		return `${state}  ${this.nodeId}  ${up}${seen}  challenges ${this.passed}/${this.told} passed${work}`;
	}
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
			if (NOTABLE.has(e.event) || (e.event === "challenge_result" && !e.passed))
				out.write(`${CLEAR}${textLine(e, now())}\n`);
			draw();
		},
		close() {
			clearInterval(timer);
			out.write(`${CLEAR}${live.render(now())}\n`);
		},
	};
}
