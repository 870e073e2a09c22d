// Run output: the --json event lines e2e tests parse, plain lines for logs, and the TTY status line.
import { describe, expect, it } from "vitest";
import { LiveState, createReporter, jsonLine, textLine } from "../../agent/reporter.ts";

const T0 = Date.parse("2026-01-02T03:04:05.000Z");

describe("reporter", () => {
	it("prints each event as one JSON object with the event name first and an ISO time", () => {
		expect(jsonLine({ event: "disconnected", code: 1006, reason: "", up_ms: 42 }, T0)).toBe(
			'{"event":"disconnected","at":"2026-01-02T03:04:05.000Z","code":1006,"reason":"","up_ms":42}',
		);
	});

	it("prints plain lines as time, event and key=value pairs, quoting values with spaces", () => {
		expect(textLine({ event: "server_error", code: "bad_message", message: "Unknown message" }, T0)).toBe(
			'2026-01-02T03:04:05.000Z server_error code=bad_message message="Unknown message"',
		);
	});

	it("does not print a line per pong in --json mode, but prints every other event at once", () => {
		const out: string[] = [];
		const r = createReporter("json", { write: (s: string) => out.push(s) }, () => T0);
		r.emit({ event: "pong" });
		r.emit({ event: "reconnecting", in_ms: 1234, attempt: 2 });
		expect(out).toEqual(['{"event":"reconnecting","at":"2026-01-02T03:04:05.000Z","in_ms":1234,"attempt":2}\n']);
	});

	it("shows state, node, connected-for, last pong and challenges on the status line", () => {
		const s = new LiveState();
		s.apply({ event: "starting", node_id: "node_abc", transport: "ws", coordinator: "http://x" }, T0);
		s.apply({ event: "connected", transport: "ws" }, T0);
		s.apply(
			{ event: "welcome", heartbeat_interval_s: 10, offline_after_s: 30, status: "online", server_time: null },
			T0,
		);
		s.apply({ event: "pong" }, T0 + 60_000);
		s.apply({ event: "challenge", id: "c1", kind: "echo-sha256", answered: true }, T0 + 61_000);
		s.apply({ event: "challenge", id: "c2", kind: "echo-sha256", answered: true }, T0 + 62_000);
		s.apply({ event: "challenge_result", id: "c1", passed: true, outcome: "passed", epoch: 7 }, T0 + 62_000);
		s.apply({ event: "challenge_result", id: "c2", passed: false, outcome: "missed", epoch: 7 }, T0 + 64_000);
		// Counted as the coordinator told them: what the ledger will say.
		expect(s.render(T0 + 65_000)).toBe("online  node_abc  up 1m05s  pong 5s ago  challenges 1/2 passed");
	});

	it("shows hardware verification on the status line, and its verdict in words on a terminal", () => {
		const s = new LiveState();
		s.apply({ event: "starting", node_id: "node_abc", transport: "ws", coordinator: "http://x" }, T0);
		s.apply({ event: "verify", id: "vrf_1", method: "matmul-freivalds-v1", rows: 1024, inner: 8192, cols: 256 }, T0);
		expect(s.render(T0)).toMatch(/challenges 0\/0 passed {2}verifying hardware$/);
		s.apply({ event: "verify_result", state: "verified", measured_ms: 1840 }, T0);
		expect(s.render(T0)).toMatch(/ {2}hardware verified \(1840 ms\)$/);
		s.apply({ event: "verify_result", state: "failed", reason: "late", measured_ms: 2900 }, T0);
		expect(s.render(T0)).toMatch(/ {2}verification failed: late$/);
		s.apply({ event: "verify_decline", id: "vrf_2", reason: "too big for the CPU solver: …" }, T0);
		expect(s.render(T0)).toMatch(/ {2}verification declined$/);

		const out: string[] = [];
		const r = createReporter("tty", { write: (x: string) => out.push(x) }, () => T0);
		r.emit({ event: "verify_result", state: "verified", measured_ms: 1840 });
		r.close();
		expect(out.join("")).toContain("2026-01-02T03:04:05.000Z hardware verified (1840 ms)\n");
	});

	it("counts down to the next reconnect attempt", () => {
		const s = new LiveState();
		s.apply({ event: "reconnecting", in_ms: 7_500, attempt: 3 }, T0);
		expect(s.render(T0 + 1_000)).toMatch(/^reconnecting in 7s/);
	});
});
