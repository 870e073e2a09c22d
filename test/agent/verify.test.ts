// Hardware verification over the WebSocket (docs/VERIFICATION.md §6) against the fake coordinator: ack first, a commit
// with the reference root, an opening that the coordinator's check accepts, declines, keepalives during a long solve,
// and solvers freed when the verification or the connection ends.
import { afterEach, describe, expect, it } from "vitest";
import type { AgentEvent } from "../../agent/events.ts";
import { TokenSigner, generateIdentity } from "../../agent/identity.ts";
import { type CpuSolver, cpuSolverRefusal, createCpuSolver } from "../../agent/solver.ts";
import type { SolverBackend } from "../../agent/verify.ts";
import { WsLink } from "../../agent/ws-link.ts";
import {
	CHALLENGE_SIZES,
	type OpenedRow,
	type Shape,
	deriveSeed,
	randomVector,
	sampleRows,
	secureRandom,
	verifyRows,
	solve,
} from "../../workers/domain/matmul.ts";
import { type FakeCoordinator, type FakeOptions, type FakeSocket, startFakeCoordinator } from "./fake-coordinator.ts";

const NODE = "node_test0000000001";
const METHOD = "matmul-freivalds-v1";
const SMALL: Shape = { rows: 64, inner: 64, cols: 32 };
let fake: FakeCoordinator | null = null;
let link: WsLink | null = null;

afterEach(async () => {
	await link?.stop();
	await fake?.close();
	link = fake = null;
});

/** The CPU backend, recording every solver it makes and the most commits it ran at once. */
function trackedBackend(concurrency = 2, refusal: SolverBackend["refusal"] = cpuSolverRefusal) {
	const made: CpuSolver[] = [];
	const load = { active: 0, max: 0 };
	const backend: SolverBackend = {
		concurrency,
		refusal,
		create() {
			const s = createCpuSolver();
			made.push(s);
			const commit = s.commit.bind(s);
			s.commit = async (challenge) => {
				load.max = Math.max(load.max, ++load.active);
				try {
					return await commit(challenge);
				} finally {
					load.active--;
				}
			};
			return s;
		},
	};
	return { backend, made, load };
}

async function setup(
	opts: Partial<FakeOptions> = {},
	{ verify, tracked = trackedBackend() }: { verify?: boolean; tracked?: ReturnType<typeof trackedBackend> } = {},
) {
	const identity = generateIdentity();
	fake = await startFakeCoordinator({ nodeId: NODE, publicKey: identity.publicKey, ...opts });
	const signer = new TokenSigner(identity, NODE);
	const events: AgentEvent[] = [];
	const waiters: { match: (e: AgentEvent) => boolean; resolve: (e: AgentEvent) => void }[] = [];
	link = new WsLink({
		coordinatorUrl: fake.url,
		nodeId: NODE,
		mintToken: () => signer.mint(),
		random: () => 0,
		emit: (e) => {
			events.push(e);
			for (const w of waiters.splice(0)) w.match(e) ? w.resolve(e) : waiters.push(w);
		},
		solvers: tracked.backend,
		...(verify === undefined ? {} : { verify }),
	});
	const event = <K extends AgentEvent["event"]>(
		name: K,
		match: (e: Extract<AgentEvent, { event: K }>) => boolean = () => true,
	) =>
		new Promise<Extract<AgentEvent, { event: K }>>((resolve) => {
			const m = (e: AgentEvent) => e.event === name && match(e as Extract<AgentEvent, { event: K }>);
			const seen = events.find(m);
			if (seen) resolve(seen as Extract<AgentEvent, { event: K }>);
			else waiters.push({ match: m, resolve: resolve as (e: AgentEvent) => void });
		});
	void link.run();
	const sock = await fake.nextSocket();
	return { fake, link, sock, events, event, tracked };
}

/** The root the coordinator expects, from workers/domain/matmul.ts alone. */
async function referenceRoot(seed: Uint8Array, shape: Shape): Promise<string> {
	return (await solve(seed, shape)).root;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

function challenge(id: string, seed: Uint8Array, shape: Shape, method = METHOD) {
	return { type: "verify", id, method, seed: b64(seed), shape, deadline: new Date(Date.now() + 10_000).toISOString() };
}

/** r as the wire carries it: base64url of N little-endian u32. */
function encodeR(r: Uint32Array): string {
	const bytes = new Uint8Array(r.length * 4);
	const view = new DataView(bytes.buffer);
	r.forEach((x, n) => view.setUint32(4 * n, x, true));
	return b64(bytes);
}

/** A verify_open's rows, decoded independently of the agent's encoder. */
function decodeOpen(msg: Record<string, unknown>): OpenedRow[] {
	return (msg.rows as { i: number; values: string; path: string[] }[]).map(({ i, values, path }) => {
		const bytes = Buffer.from(values, "base64url");
		expect(values).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
		const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		return { i, values: Int32Array.from({ length: bytes.length / 4 }, (_, n) => view.getInt32(4 * n, true)), path };
	});
}

/** Reveals like the coordinator (r and 32 rows from a secure source) and checks the opening with `verifyRows`. */
async function revealAndCheck(sock: FakeSocket, id: string, seed: Uint8Array, shape: Shape, root: string) {
	const r = randomVector(secureRandom, shape.cols);
	const rows = sampleRows(secureRandom, shape.rows, 32);
	sock.send({ type: "verify_reveal", id, r: encodeR(r), rows });
	const open = await sock.message("verify_open", id);
	expect(Object.keys(open).sort()).toEqual(["id", "rows", "type"]);
	return verifyRows(seed, shape, root, { r, rows }, decodeOpen(open));
}

const types = (sock: FakeSocket) => sock.messages().map((m) => m.type);

describe("hardware verification", () => {
	it("acks at once, commits to the reference root, and opens rows that verifyRows accepts", async () => {
		const { sock, event, events, tracked } = await setup();
		const seed = await deriveSeed("test-secret", 1, NODE, "nonce-1");
		sock.send(challenge("vrf_one", seed, SMALL));
		const commit = await sock.message("verify_commit", "vrf_one");
		expect(types(sock)).toEqual(["verify_ack", "verify_commit"]);
		expect(sock.messages()[0]).toEqual({ type: "verify_ack", id: "vrf_one" });
		expect(commit).toEqual({ type: "verify_commit", id: "vrf_one", root: await referenceRoot(seed, SMALL) });

		expect(await revealAndCheck(sock, "vrf_one", seed, SMALL, commit.root as string)).toEqual({ ok: true });
		// Opened: nothing more is asked of the part, so its solver is already gone.
		expect(tracked.made).toHaveLength(1);
		expect(typeof (await tracked.made[0]?.exited)).toBe("number");

		sock.send({ type: "verify_result", state: "verified", measured_ms: 1840 });
		expect(await event("verify_result")).toEqual({ event: "verify_result", state: "verified", measured_ms: 1840 });
		expect(events.map((e) => e.event).filter((e) => e.startsWith("verify"))).toEqual([
			"verify",
			"verify_commit",
			"verify_open",
			"verify_result",
		]);
		expect(events.find((e) => e.event === "verify")).toMatchObject({ id: "vrf_one", method: METHOD, ...SMALL });
	});

	it("answers every part of a multi-GPU verification, solving at most `concurrency` at once", async () => {
		const { sock, tracked } = await setup({}, { tracked: trackedBackend(2) });
		const shape = { rows: 48, inner: 96, cols: 64 };
		const parts = await Promise.all(
			["a", "b", "c"].map(async (n) => ({ id: `vrf_${n}`, seed: await deriveSeed("s", 2, NODE, n) })),
		);
		for (const p of parts) sock.send(challenge(p.id, p.seed, shape));
		const commits = await Promise.all(parts.map((p) => sock.message("verify_commit", p.id)));
		// Every ack went out before any commit.
		expect(types(sock).slice(0, 3)).toEqual(["verify_ack", "verify_ack", "verify_ack"]);
		for (const [j, p] of parts.entries()) {
			expect(commits[j]?.root).toBe(await referenceRoot(p.seed, shape));
			expect(await revealAndCheck(sock, p.id, p.seed, shape, commits[j]?.root as string)).toEqual({ ok: true });
		}
		expect(tracked.made).toHaveLength(3);
		expect(tracked.load.max).toBeLessThanOrEqual(2);
	});

	it("declines, after the ack, a shape too big for the CPU solver and an unknown method", async () => {
		const { sock, event, tracked } = await setup();
		const seed = await deriveSeed("s", 1, NODE, "big");
		sock.send(challenge("vrf_big", seed, CHALLENGE_SIZES["Apple M-series"].shape));
		const decline = await sock.message("verify_decline", "vrf_big");
		expect(sock.messages().slice(0, 2)).toEqual([{ type: "verify_ack", id: "vrf_big" }, decline]);
		expect(decline.reason).toMatch(/^too big for the CPU solver: .*needs a GPU solver$/);
		expect((decline.reason as string).length).toBeLessThanOrEqual(200);
		expect(await event("verify_decline")).toMatchObject({ id: "vrf_big", reason: decline.reason });

		sock.send(challenge("vrf_odd", seed, SMALL, "matmul-v0"));
		expect(await sock.message("verify_decline", "vrf_odd")).toMatchObject({
			reason: expect.stringMatching(/^unknown method 'matmul-v0'/),
		});
		expect(types(sock)).toEqual(["verify_ack", "verify_decline", "verify_ack", "verify_decline"]);
		expect(tracked.made).toHaveLength(0); // refused before any thread was started
	});

	it("declines the unfinished parts along with a declined one (a decline voids the verification)", async () => {
		const { sock, tracked } = await setup();
		const seed = await deriveSeed("s", 1, NODE, "mixed");
		sock.send(challenge("vrf_ok", seed, CHALLENGE_SIZES["cpu-reference"].shape));
		sock.send(challenge("vrf_big", seed, CHALLENGE_SIZES.H100.shape));
		expect(await sock.message("verify_decline", "vrf_big")).toMatchObject({
			reason: expect.stringMatching(/^too big/),
		});
		expect(await sock.message("verify_decline", "vrf_ok")).toMatchObject({
			reason: expect.stringMatching(/^another part of this verification was declined: too big/),
		});
		expect((sock.messages()[3]?.reason as string).length).toBeLessThanOrEqual(200);
		expect(typeof (await tracked.made[0]?.exited)).toBe("number"); // the computing part's solver was stopped
		expect(types(sock)).toEqual(["verify_ack", "verify_ack", "verify_decline", "verify_decline"]);
	});

	it("declines with the solver's own refusal when the backend does not check shapes up front", async () => {
		const { sock, tracked } = await setup({}, { tracked: trackedBackend(2, () => null) });
		const seed = await deriveSeed("s", 1, NODE, "big");
		sock.send(challenge("vrf_big", seed, CHALLENGE_SIZES["RTX 4090"].shape));
		const decline = await sock.message("verify_decline", "vrf_big");
		expect(decline.reason).toMatch(/^too big for the CPU solver: /);
		expect(types(sock)).toEqual(["verify_ack", "verify_decline"]);
		expect(typeof (await tracked.made[0]?.exited)).toBe("number");
	});

	it("keeps sending keepalive pings while a CPU-heavy challenge is being solved", async () => {
		// 100 ms keepalives: short enough for many pings during the solve, long enough that a busy test machine does
		// not miss three in a row (the agent's dead-socket rule) while a solver thread takes a core.
		const { sock, event } = await setup({ welcome: { heartbeat_interval_s: 0.1, offline_after_s: 1 } });
		const seed = await deriveSeed("s", 1, NODE, "heavy");
		const heavy = CHALLENGE_SIZES["cpu-reference"].shape; // 1024 × 8192 × 256 = 2^31 multiply-adds
		sock.send(challenge("vrf_heavy", seed, heavy));
		const commit = await Promise.race([
			sock.message("verify_commit", "vrf_heavy"),
			event("disconnected").then(() => null),
		]);
		expect(commit, "the connection dropped while the challenge was solved").not.toBeNull();
		expect(commit?.root).toMatch(/^[0-9a-f]{64}$/);
		const ack = sock.frames.findIndex((f) => f.includes('"verify_ack"'));
		const committed = sock.frames.findIndex((f) => f.includes('"verify_commit"'));
		const pingsWhilePending = sock.frames.slice(ack + 1, committed).filter((f) => f === "ping").length;
		expect(pingsWhilePending).toBeGreaterThanOrEqual(2);
	}, 60_000);

	it("disposes the solvers when the socket closes, and a new connection starts afresh", async () => {
		const { fake, sock, event, tracked } = await setup();
		const seed = await deriveSeed("s", 1, NODE, "cut");
		sock.send(challenge("vrf_cut", seed, { rows: 1024, inner: 8192, cols: 256 }));
		await sock.message("verify_ack", "vrf_cut");
		expect(tracked.made).toHaveLength(1);
		sock.ws.close(1001, "going away");
		await event("disconnected");
		expect(typeof (await tracked.made[0]?.exited)).toBe("number");

		const second = await fake.nextSocket();
		second.send(challenge("vrf_cut", seed, SMALL)); // the same id on a new connection is a new part
		const commit = await second.message("verify_commit", "vrf_cut");
		expect(commit.root).toBe(await referenceRoot(seed, SMALL));
		expect(types(sock)).toEqual(["verify_ack"]);
		expect(tracked.made).toHaveLength(2);
	}, 60_000);

	it("disposes a committed part's solver on verify_result and reports a failed verdict", async () => {
		const { sock, event, tracked } = await setup();
		const seed = await deriveSeed("s", 1, NODE, "late");
		sock.send(challenge("vrf_late", seed, SMALL));
		await sock.message("verify_commit", "vrf_late");
		sock.send({ type: "verify_result", state: "failed", reason: "late", measured_ms: 2900 });
		expect(await event("verify_result")).toEqual({
			event: "verify_result",
			state: "failed",
			reason: "late",
			measured_ms: 2900,
		});
		expect(typeof (await tracked.made[0]?.exited)).toBe("number");
		// A reveal after the verdict is not answered.
		sock.send({ type: "verify_reveal", id: "vrf_late", r: encodeR(new Uint32Array(32)), rows: [0] });
		expect(await event("verify_error")).toMatchObject({ id: "vrf_late" });
		expect(types(sock)).toEqual(["verify_ack", "verify_commit"]);
	});

	it("declines every challenge when verification is turned off", async () => {
		const { sock, tracked } = await setup({}, { verify: false });
		sock.send(challenge("vrf_off", await deriveSeed("s", 1, NODE, "off"), SMALL));
		const decline = await sock.message("verify_decline", "vrf_off");
		expect(decline.reason).toMatch(/turned off/);
		expect(types(sock)).toEqual(["verify_ack", "verify_decline"]);
		expect(tracked.made).toHaveLength(0);
	});
});
