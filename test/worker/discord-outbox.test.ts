// Staff-channel posts survive Discord being down: kept in the outbox, retried with backoff by the cron, never posted
// twice.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index.ts";
import { MAX_ATTEMPTS, RETRY_BASE_MS } from "../../workers/domain/retry.ts";
import { pendingPosts } from "../../workers/db/discord-outbox.ts";
import { drainDiscordOutbox } from "../../workers/services/discord-outbox.ts";
import { openTicket, ticketActor } from "../../workers/services/tickets.ts";
import { callJson, eventually, newAccount } from "./helpers.ts";
import { commandPayload, fakeState, fault, linkedUser, signedPost, snowflake, staffPosts } from "./discord-helpers.ts";

/** A marker only this test's posts contain (files share one fake Discord). */
const marker = () => `mk${snowflake()}`;

async function openWithSubject(subject: string): Promise<string> {
	const a = await newAccount("poster");
	const { status, body } = await callJson<{ ticket: { id: string } }>("/v1/tickets", {
		auth: a.key,
		body: { subject, body: "details" },
	});
	expect(status).toBe(201);
	return body.ticket.id;
}

async function refusedFor(text: string, n = 1): Promise<void> {
	await eventually(async () => (await fakeState()).refused.filter((r) => r.content.includes(text)).length >= n);
}

async function pendingFor(text: string) {
	return (await pendingPosts(env.DB)).find((p) => p.content.includes(text));
}

/**
 * Opens a ticket whose staff post Discord refuses (503) `times` times; returns once the post waits in the outbox after
 * one attempt.
 */
async function refusedTicket(m: string, subject: string, times = 1): Promise<string> {
	await fault({ contains: m, times, status: 503 });
	const id = await openWithSubject(subject);
	await refusedFor(m);
	await eventually(async () => (await pendingFor(m))?.attempts === 1);
	return id;
}

async function postsWith(text: string) {
	return (await fakeState()).posts.filter((p) => p.content.includes(text));
}

describe("discord outbox", () => {
	it("keeps a post Discord refused and delivers it exactly once when Discord is back", async () => {
		const m = marker();
		await fault({ contains: m, times: 2, status: 503 });
		const id = await openWithSubject(`Outage ${m}`);
		await refusedFor(m);
		const first = await eventually(async () => (await pendingFor(m))?.attempts === 1 && pendingFor(m));
		expect(first).toMatchObject({ attempts: 1, gave_up_at: null, last_error: expect.stringContaining("503") });

		const t0 = first ? first.next_attempt_at - RETRY_BASE_MS : Date.now();
		expect((await drainDiscordOutbox(env, t0 + 1_000)).sent).toBe(0); // not due yet: nothing is sent early
		expect((await pendingFor(m))?.attempts).toBe(1);
		await drainDiscordOutbox(env, t0 + RETRY_BASE_MS + 1);
		expect((await pendingFor(m))?.attempts).toBe(2);
		await drainDiscordOutbox(env, t0 + 10 * 60_000);
		expect(await pendingFor(m)).toBeUndefined();
		await drainDiscordOutbox(env, t0 + 60 * 60_000);
		const posts = await postsWith(m);
		expect(posts).toHaveLength(1);
		expect(posts[0]?.content).toContain(id);
	});

	it("waits as long as Discord's retry_after says after a 429", async () => {
		const m = marker();
		await fault({ contains: m, times: 1, status: 429, retry_after: 7 });
		await openWithSubject(`Busy ${m}`);
		await refusedFor(m);
		// The 429 reached Discord's fake before the drain recorded it: wait for the recorded attempt.
		const row = await eventually(async () => {
			const r = await pendingFor(m);
			return r?.attempts === 1 ? r : undefined;
		});
		const created =
			(
				await env.DB.prepare("SELECT created_at FROM discord_outbox WHERE id = ?")
					.bind(row?.id)
					.first<{ created_at: number }>()
			)?.created_at ?? 0;
		const wait = (row?.next_attempt_at ?? 0) - created;
		expect(wait).toBeGreaterThanOrEqual(7_000);
		expect(wait).toBeLessThan(RETRY_BASE_MS);
	});

	it("lets only one of two drains at once take a post, so it is posted once", async () => {
		const m = marker();
		await refusedTicket(m, `Twice ${m}`);
		const later = Date.now() + 60 * 60_000;
		await Promise.all([drainDiscordOutbox(env, later), drainDiscordOutbox(env, later)]);
		expect(await postsWith(m)).toHaveLength(1);
	});

	it(
		"does not duplicate a post whose delivery was not recorded: " + "Discord's nonce check returns the first message",
		async () => {
			const m = marker();
			await openWithSubject(`Ack lost ${m}`);
			await staffPosts(m);
			await eventually(
				async () =>
					(
						await env.DB.prepare("SELECT sent_at FROM discord_outbox WHERE content LIKE ?")
							.bind(`%${m}%`)
							.first<{ sent_at: number | null }>()
					)?.sent_at,
			);
			// As if the drain died after Discord accepted the post but before it wrote sent_at.
			await env.DB.prepare("UPDATE discord_outbox SET sent_at = NULL, lease_until = NULL WHERE content LIKE ?")
				.bind(`%${m}%`)
				.run();
			await drainDiscordOutbox(env, Date.now() + 60 * 60_000);
			expect(await pendingFor(m)).toBeUndefined();
			expect(await postsWith(m)).toHaveLength(1);
		},
	);

	it(`gives up after ${MAX_ATTEMPTS} attempts and logs it, while the ticket itself stays`, async () => {
		const m = marker();
		const id = await refusedTicket(m, `Doomed ${m}`, 2);
		await env.DB.prepare("UPDATE discord_outbox SET attempts = ? WHERE content LIKE ?")
			.bind(MAX_ATTEMPTS - 1, `%${m}%`)
			.run();
		const r = await drainDiscordOutbox(env, Date.now() + 2 * 60 * 60_000);
		expect(r.gaveUp).toBe(1);
		expect((await pendingFor(m))?.gave_up_at).not.toBeNull();
		await drainDiscordOutbox(env, Date.now() + 48 * 60 * 60_000);
		expect(await postsWith(m)).toHaveLength(0);
		expect(
			(await env.DB.prepare("SELECT status FROM tickets WHERE id = ?").bind(id).first<{ status: string }>())?.status,
		).toBe("open");
	});

	it("is drained by the cron", async () => {
		const m = marker();
		await refusedTicket(m, `Cron ${m}`);
		// its backoff has passed
		await env.DB.prepare("UPDATE discord_outbox SET next_attempt_at = 0 WHERE content LIKE ?").bind(`%${m}%`).run();
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
		await waitOnExecutionContext(ctx);
		expect(await postsWith(m)).toHaveLength(1);
		expect(await pendingFor(m)).toBeUndefined();
	});

	it("queues nothing when no staff channel is configured", async () => {
		const a = await newAccount("quiet");
		const account = { id: a.id, name: "quiet", role: "user" as const, created_at: 0 };
		const before = (await env.DB.prepare("SELECT count(*) AS n FROM discord_outbox").first<{ n: number }>())?.n;
		const ctx = createExecutionContext();
		await openTicket(
			{ ...env, DISCORD_STAFF_CHANNEL_ID: "" },
			ticketActor(account, false, "quiet", "api"),
			{ subject: "s", body: "b" },
			Date.now(),
			(w) => ctx.waitUntil(w),
		);
		await waitOnExecutionContext(ctx);
		expect((await env.DB.prepare("SELECT count(*) AS n FROM discord_outbox").first<{ n: number }>())?.n).toBe(before);
	});
});

describe("interaction follow-ups", () => {
	it("retries a follow-up Discord could not take at first", async () => {
		const user = await linkedUser(await newAccount());
		const token = `tok-${snowflake()}`;
		await fault({ contains: token, times: 1, status: 502 });
		const res = await signedPost(JSON.stringify(commandPayload(user, "status", [], token)));
		expect(res.status).toBe(200);
		const edit = await eventually(async () => (await fakeState()).edits.find((e) => e.token === token));
		expect(edit?.content).toContain("You have no nodes yet");
		expect((await fakeState()).refused.filter((r) => r.path.includes(token))).toHaveLength(1);
	});
});
