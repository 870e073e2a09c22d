// The bandwidth test routes in the Workers runtime: uploads the Worker counts and times, download tests answered with
// the blob's hash, who may call them, the hourly limit, and the tier in the node views and the bots.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bandwidthSamplesOf, recordSample } from "../../workers/db/bandwidth.ts";
import { byKeyHash } from "../../workers/db/accounts.ts";
import {
	bandwidthText,
	DOWNLOAD_BYTES,
	RATE_LIMIT_TESTS,
	TEST_TTL_MS,
	UPLOAD_MIN_BYTES,
	type Bandwidth,
} from "../../workers/domain/bandwidth.ts";
import { sha256Hex } from "../../workers/ids.ts";
import { nodesText } from "../../bots/telegram/handlers.ts";
import {
	callJson,
	connect,
	freshIp,
	grant,
	newAccount,
	nodeToken,
	registerNode,
	registeredAgo,
	type TestNode,
} from "./helpers.ts";

interface SampleAnswer {
	direction: "up" | "down";
	bytes: number;
	ms: number;
	mbps: number;
	bandwidth: Bandwidth;
}
interface ErrorBody {
	error: { code: string; message: string; reason?: string; retry_after?: number };
}

const base = (node: TestNode) => `http://coordinator.test/v1/nodes/${node.id}/bandwidth`;

/** A body of `size` bytes delivered as a stream in 1 MiB chunks (so the declared length is the test's to choose). */
function streamOf(size: number): ReadableStream<Uint8Array> {
	let left = size;
	return new ReadableStream({
		pull(controller) {
			if (left <= 0) return controller.close();
			const n = Math.min(left, 1 << 20);
			left -= n;
			controller.enqueue(new Uint8Array(n).fill(7));
		},
	});
}

async function upload(
	node: TestNode,
	o: { bytes?: number; declared?: number | null; headers?: Record<string, string>; token?: string } = {},
): Promise<Response> {
	const bytes = o.bytes ?? UPLOAD_MIN_BYTES;
	const declared = o.declared === undefined ? bytes : o.declared;
	const headers: Record<string, string> = {
		"cf-connecting-ip": freshIp(),
		authorization: `Bearer ${o.token ?? (await nodeToken(node))}`,
		"content-type": "application/octet-stream",
		...(declared === null ? {} : { "content-length": String(declared) }),
		...o.headers,
	};
	return exports.default.fetch(new Request(`${base(node)}/upload`, { method: "POST", headers, body: streamOf(bytes) }));
}

async function startDownload(node: TestNode, token?: string): Promise<Response> {
	return exports.default.fetch(
		new Request(`${base(node)}/download`, {
			method: "POST",
			headers: { "cf-connecting-ip": freshIp(), authorization: `Bearer ${token ?? (await nodeToken(node))}` },
		}),
	);
}

/** Starts a download test and reads the blob: its test id and hex SHA-256. */
async function download(node: TestNode): Promise<{ test: string; sha256: string; size: number }> {
	const res = await startDownload(node);
	expect(res.status).toBe(200);
	const blob = new Uint8Array(await res.arrayBuffer());
	const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", blob));
	const sha256 = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
	return { test: res.headers.get("x-pulsegrid-bandwidth-test") ?? "", sha256, size: blob.length };
}

async function answer(node: TestNode, test: string, sha256: string, as: TestNode = node) {
	return callJson<SampleAnswer & ErrorBody>(`/v1/nodes/${node.id}/bandwidth/download/${test}`, {
		auth: await nodeToken(as),
		body: { sha256 },
	});
}

async function bandwidthView(node: TestNode): Promise<Bandwidth> {
	const { body } = await callJson<{ node: { hardware: { bandwidth: Bandwidth } } }>(`/v1/nodes/${node.id}`);
	return body.node.hardware.bandwidth;
}

async function samplesOf(node: TestNode) {
	return (await bandwidthSamplesOf(env.DB, [node.id])).get(node.id) ?? [];
}

describe("POST /v1/nodes/:id/bandwidth/upload", () => {
	it("counts a 10 MB upload, times it on the coordinator and records an up sample", async () => {
		const node = await registerNode(await newAccount());
		const res = await upload(node);
		expect(res.status).toBe(200);
		const body = (await res.json()) as SampleAnswer;
		expect(body).toMatchObject({ direction: "up", bytes: UPLOAD_MIN_BYTES });
		expect(Number.isInteger(body.ms) && body.ms >= 0).toBe(true);
		expect(body.mbps).toBeGreaterThan(0);
		expect(body.bandwidth).toMatchObject({ tier: "unmeasured", samples: { up: 1, down: 0 }, measured_at: null });
		expect(await samplesOf(node)).toMatchObject([{ direction: "up", bytes: UPLOAD_MIN_BYTES, ms: body.ms }]);
	});

	it("refuses a declared size under 10 MB (400 too_small) or over 25 MB (413 too_large), records nothing", async () => {
		const node = await registerNode(await newAccount());
		const small = await upload(node, { bytes: 1000 });
		expect(small.status).toBe(400);
		expect(((await small.json()) as ErrorBody).error).toMatchObject({ code: "validation_failed", reason: "too_small" });
		const large = await upload(node, { bytes: 1000, declared: 25_000_001 });
		expect(large.status).toBe(413);
		expect(((await large.json()) as ErrorBody).error).toMatchObject({ code: "payload_too_large", reason: "too_large" });
		expect(await samplesOf(node)).toEqual([]);
	});

	it("refuses a compressed body (415) and a body that is not application/octet-stream (415)", async () => {
		const node = await registerNode(await newAccount());
		const gzip = await upload(node, { headers: { "content-encoding": "gzip" } });
		expect(gzip.status).toBe(415);
		expect(((await gzip.json()) as ErrorBody).error.message).toContain("Content-Encoding");
		const text = await upload(node, { headers: { "content-type": "text/plain" } });
		expect(text.status).toBe(415);
		expect(await samplesOf(node)).toEqual([]);
	});

	it("refuses a body without Content-Length (411)", async () => {
		const node = await registerNode(await newAccount());
		const res = await upload(node, { declared: null });
		expect(res.status).toBe(411);
		expect(((await res.json()) as ErrorBody).error.reason).toBe("length_required");
	});

	it("refuses a body delivering fewer or more bytes than declared (400 length_mismatch), records nothing", async () => {
		const node = await registerNode(await newAccount());
		const short = await upload(node, { bytes: UPLOAD_MIN_BYTES, declared: UPLOAD_MIN_BYTES + 5 });
		expect(short.status).toBe(400);
		expect(((await short.json()) as ErrorBody).error.reason).toBe("length_mismatch");
		const long = await upload(node, { bytes: UPLOAD_MIN_BYTES + 5, declared: UPLOAD_MIN_BYTES });
		expect(long.status).toBe(400);
		expect(((await long.json()) as ErrorBody).error.reason).toBe("length_mismatch");
		expect(await samplesOf(node)).toEqual([]);
	});

	it("refuses another node's token, an API key, and a node token used twice", async () => {
		const node = await registerNode(await newAccount());
		const other = await registerNode(await newAccount());
		expect((await upload(node, { token: await nodeToken(other) })).status).toBe(401);
		expect((await upload(node, { token: node.owner.key })).status).toBe(401);
		const token = await nodeToken(node);
		expect((await upload(node, { token })).status).toBe(200);
		const replay = await upload(node, { token });
		expect(replay.status).toBe(401);
		expect(await samplesOf(node)).toHaveLength(1);
	});
});

describe("download tests", () => {
	it("hands out 16 MiB with a test id, and records a down sample for the right hash", async () => {
		const node = await registerNode(await newAccount());
		const { test, sha256, size } = await download(node);
		expect(test).toMatch(/^bwt_/);
		expect(size).toBe(DOWNLOAD_BYTES);
		const { status, body } = await answer(node, test, sha256.toUpperCase());
		expect(status).toBe(200);
		expect(body).toMatchObject({ direction: "down", bytes: DOWNLOAD_BYTES });
		expect(body.bandwidth.samples).toEqual({ up: 0, down: 1 });
		expect(await samplesOf(node)).toMatchObject([{ direction: "down", bytes: DOWNLOAD_BYTES, ms: body.ms }]);
		// Answered once: the test is gone.
		expect((await answer(node, test, sha256)).status).toBe(404);
	});

	it("answers a wrong hash with 422 wrong_hash, uses the test up and records nothing", async () => {
		const node = await registerNode(await newAccount());
		const { test, sha256 } = await download(node);
		const wrong = await answer(node, test, await sha256Hex("not the blob"));
		expect(wrong.status).toBe(422);
		expect(wrong.body.error).toMatchObject({ code: "unprocessable", reason: "wrong_hash" });
		expect((await answer(node, test, sha256)).status).toBe(404);
		expect(await samplesOf(node)).toEqual([]);
	});

	it("refuses a malformed answer (400) without using the test up", async () => {
		const node = await registerNode(await newAccount());
		const { test, sha256 } = await download(node);
		const path = `/v1/nodes/${node.id}/bandwidth/download/${test}`;
		const extra = await callJson<ErrorBody>(path, { auth: await nodeToken(node), body: { sha256, ms: 1 } });
		expect(extra.status).toBe(400);
		expect(extra.body.error.message).toContain("'ms'");
		const short = await callJson<ErrorBody>(path, { auth: await nodeToken(node), body: { sha256: "abc" } });
		expect(short.status).toBe(400);
		expect((await answer(node, test, sha256)).status).toBe(200);
	});

	it("keeps one node's test from another: its token is refused, and its own path does not find the test", async () => {
		const node = await registerNode(await newAccount());
		const other = await registerNode(await newAccount());
		expect((await startDownload(node, await nodeToken(other))).status).toBe(401);
		const { test, sha256 } = await download(node);
		expect((await answer(node, test, sha256, other)).status).toBe(401);
		expect((await answer(other, test, sha256)).status).toBe(404);
		expect((await answer(node, test, sha256)).status).toBe(200);
	});

	it("answers 404 for a test older than 120 s, and records nothing", async () => {
		const node = await registerNode(await newAccount());
		const { test, sha256 } = await download(node);
		await env.DB.prepare("UPDATE bandwidth_tests SET started_at = started_at - ? WHERE id = ?")
			.bind(TEST_TTL_MS + 1000, test)
			.run();
		const late = await answer(node, test, sha256);
		expect(late.status).toBe(404);
		expect(late.body.error.code).toBe("not_found");
		expect(await samplesOf(node)).toEqual([]);
	});

	it(`allows ${RATE_LIMIT_TESTS} tests per direction per hour, then 429 with retry_after`, async () => {
		const node = await registerNode(await newAccount());
		for (let i = 0; i < RATE_LIMIT_TESTS; i++) {
			const res = await startDownload(node);
			expect(res.status).toBe(200);
			await res.body?.cancel();
		}
		const refused = await startDownload(node);
		expect(refused.status).toBe(429);
		const retry = Number(refused.headers.get("retry-after"));
		expect(retry).toBeGreaterThan(3000);
		expect(retry).toBeLessThanOrEqual(3600);
		expect(((await refused.json()) as ErrorBody).error).toMatchObject({ code: "rate_limited", retry_after: retry });
		// The other direction has its own allowance.
		expect((await upload(node)).status).toBe(200);
		// An hour later the oldest attempts have left the window.
		await env.DB.prepare("UPDATE bandwidth_attempts SET at = at - 3600000 WHERE node_id = ?").bind(node.id).run();
		const again = await startDownload(node);
		expect(again.status).toBe(200);
		await again.body?.cancel();
	});
});

describe("the bandwidth tier where people see it", () => {
	it("is unmeasured until 4 uploads and 4 downloads, then shown in the node views and the bots' text", async () => {
		const owner = await newAccount();
		const node = await registerNode(owner);
		expect(await bandwidthView(node)).toEqual({
			tier: "unmeasured",
			up_mbps: null,
			down_mbps: null,
			samples: { up: 0, down: 0 },
			measured_at: null,
		});
		for (let i = 0; i < 4; i++) expect((await upload(node)).status).toBe(200);
		for (let i = 0; i < 3; i++) {
			const { test, sha256 } = await download(node);
			expect((await answer(node, test, sha256)).status).toBe(200);
		}
		expect(await bandwidthView(node)).toMatchObject({ tier: "unmeasured", samples: { up: 4, down: 3 } });
		const { test, sha256 } = await download(node);
		const last = await answer(node, test, sha256);
		expect(last.body.bandwidth.tier).not.toBe("unmeasured");

		const shown = await bandwidthView(node);
		expect(shown).toEqual(last.body.bandwidth);
		expect(shown.samples).toEqual({ up: 4, down: 4 });
		expect(shown.up_mbps).toBeGreaterThan(0);
		expect(shown.down_mbps).toBeGreaterThan(0);
		expect(Date.parse(shown.measured_at ?? "")).toBeGreaterThan(0);
		const mine = await callJson<{ nodes: { hardware: { bandwidth: Bandwidth } }[] }>("/v1/nodes", { auth: owner.key });
		expect(mine.body.nodes[0]?.hardware.bandwidth).toEqual(shown);

		const account = await byKeyHash(env.DB, await sha256Hex(owner.key));
		if (!account) throw new Error("no account");
		expect(await nodesText(env, account, Date.now())).toContain(bandwidthText(shown));
	});

	it("keeps only the newest 8 samples per node and direction", async () => {
		const node = await registerNode(await newAccount());
		for (let i = 0; i < 11; i++)
			await recordSample(env.DB, node.id, { direction: "up", bytes: 1e7, ms: 100 + i, at: i });
		await recordSample(env.DB, node.id, { direction: "down", bytes: 1e7, ms: 50, at: 0 });
		const kept = await samplesOf(node);
		expect(kept.filter((s) => s.direction === "up").map((s) => s.ms)).toEqual([110, 109, 108, 107, 106, 105, 104, 103]);
		expect(kept.filter((s) => s.direction === "down")).toHaveLength(1);
	});

	it("places the measured node before an equally reliable unmeasured one", async () => {
		const hardware = { gpu_model: "NVIDIA L40S", gpu_count: 1, vram_gb: 48, cpu_cores: 16, ram_gb: 64 };
		const owner = await newAccount();
		// The measured one has the larger id, so the last tie-break (the id) alone would pick the other.
		const pair = [await registerNode(owner, { hardware }), await registerNode(owner, { hardware })];
		const [plain, measured] = pair.sort((x, y) => x.id.localeCompare(y.id));
		// Registered over a week ago, both have minutes of uptime in the 7-day window: the same reliability step (0 %),
		// however far apart the scheduler reads it. Then only one measures its bandwidth.
		for (const n of pair) await registeredAgo(n, 8 * 24 * 3_600_000);
		const links = await Promise.all(([plain, measured] as TestNode[]).map((n) => connect(n)));
		await Promise.all(links.map((l) => l.next("welcome")));
		for (let i = 0; i < 4; i++) {
			expect((await upload(measured as TestNode)).status).toBe(200);
			const { test, sha256 } = await download(measured as TestNode);
			expect((await answer(measured as TestNode, test, sha256)).status).toBe(200);
		}
		const renter = await newAccount("renter");
		await grant(renter.id, 100_000);
		type Created = { cluster: { nodes: { node_id: string }[] } };
		const deploy = await callJson<Created>("/v1/clusters", {
			auth: renter.key,
			body: { gpu_model: "L40S", gpu_count: 1, hours: 1 },
		});
		expect(deploy.body.cluster.nodes.map((n) => n.node_id)).toEqual([(measured as TestNode).id]);
	});
});
