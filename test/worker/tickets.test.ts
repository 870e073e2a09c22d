// Support tickets: one store behind /v1/tickets and /ticket, the documented status transitions, privacy, bounds, and
// staff-channel posts.
import { describe, expect, it } from "vitest";
import {
	BODY_MAX,
	OPENED_PER_HOUR_MAX,
	OPEN_TICKETS_MAX,
	OWNER_REPLIES_PER_MINUTE_MAX,
	SUBJECT_MAX,
} from "../../workers/domain/tickets.ts";
import { DISCORD_TEST } from "../discord-constants.ts";
import { TEST_ADMIN_TOKEN, call, callJson, newAccount, registerNode } from "./helpers.ts";
import { discordUser, linkedUser, opt, slash, staffByRole, staffPosts, sub } from "./discord-helpers.ts";

interface Ticket {
	id: string;
	account_id: string;
	subject: string;
	node_id: string | null;
	status: string;
	opened_via: string;
	closed_by: string | null;
}
interface Message {
	id: number;
	author: { role: string; account_id: string | null; name: string };
	via: string;
	body: string;
}

async function open(key: string, body: Record<string, unknown>) {
	return callJson<{ ticket: Ticket; messages: Message[] }>("/v1/tickets", { auth: key, body });
}
async function reply(key: string, id: string, body: string) {
	return callJson<{ ticket: Ticket; message: Message }>(`/v1/tickets/${id}/messages`, { auth: key, body: { body } });
}
async function close(key: string, id: string) {
	return callJson<{ ticket: Ticket }>(`/v1/tickets/${id}/close`, { method: "POST", auth: key });
}
async function view(key: string, id: string) {
	return callJson<{ ticket: Ticket; messages: Message[] }>(`/v1/tickets/${id}`, { auth: key });
}
async function list(key: string, query = "") {
	return callJson<{ status: string; tickets: (Ticket & { messages: number; account_name: string })[] }>(
		`/v1/tickets${query}`,
		{ auth: key },
	);
}

/** The ticket id in a Discord answer. */
function ticketIdIn(text: string): string {
	const id = /tkt_[A-Za-z0-9_-]+/.exec(text)?.[0];
	if (!id) throw new Error(`no ticket id in: ${text}`);
	return id;
}

describe("tickets over the API", () => {
	it(
		"walks the documented life cycle: open → owner adds → " +
			"staff replies → owner replies → closed, each posted to the staff channel",
		async () => {
			const owner = await newAccount("carol");
			const node = await registerNode(owner);
			const opened = await open(owner.key, {
				subject: "Node shows offline",
				body: "It is up, I can ssh in.",
				node_id: node.id,
			});
			expect(opened.status).toBe(201);
			const t = opened.body.ticket;
			expect(t).toMatchObject({
				id: expect.stringMatching(/^tkt_/),
				status: "open",
				node_id: node.id,
				opened_via: "api",
				account_id: owner.id,
			});
			expect(opened.body.messages).toEqual([
				expect.objectContaining({
					body: "It is up, I can ssh in.",
					via: "api",
					author: { role: "owner", account_id: owner.id, name: "carol" },
				}),
			]);

			expect((await reply(owner.key, t.id, "Still offline.")).body.ticket.status).toBe("open");
			const staff = await reply(TEST_ADMIN_TOKEN, t.id, "Which agent version?");
			expect(staff.status).toBe(201);
			expect(staff.body).toMatchObject({
				ticket: { status: "waiting_on_user" },
				message: { author: { role: "staff", account_id: null, name: "admin" } },
			});
			expect((await reply(owner.key, t.id, "0.1.0")).body.ticket.status).toBe("waiting_on_staff");
			const closed = await close(TEST_ADMIN_TOKEN, t.id);
			expect(closed.body.ticket).toMatchObject({ status: "closed", closed_by: "admin" });

			const read = await view(owner.key, t.id);
			expect(read.body.messages.map((m) => [m.author.role, m.body])).toEqual([
				["owner", "It is up, I can ssh in."],
				["owner", "Still offline."],
				["staff", "Which agent version?"],
				["owner", "0.1.0"],
			]);

			const posts = await staffPosts(t.id, 5);
			expect(posts).toHaveLength(5);
			for (const p of posts) {
				expect(p).toMatchObject({
					channel_id: DISCORD_TEST.staffChannelId,
					authorization: `Bot ${DISCORD_TEST.botToken}`,
					enforce_nonce: true,
					allowed_mentions: { parse: [] },
				});
			}
			expect(posts[0]?.content).toContain("**New ticket**");
			expect(posts[0]?.content).toContain("**carol**");
			expect(posts[0]?.content).toContain("**Subject:** Node shows offline");
			expect(posts[0]?.content).toContain(`**Node:** \`${node.id}\``);
			expect(posts[0]?.content).toContain("> It is up, I can ssh in.");
			expect(posts[2]?.content).toContain("staff **admin** replied via the API; now `waiting_on_user`");
			expect(posts[2]?.content).toContain("> Which agent version?");
			expect(posts[1]?.content).toContain("owner **carol** replied via the API; now `open`");
			expect(posts[4]?.content).toContain("closed by **admin**");
		},
	);

	it("refuses a reply to a closed ticket and a second close with 409, leaving it as it was", async () => {
		const owner = await newAccount();
		const t = (await open(owner.key, { subject: "s", body: "b" })).body.ticket;
		expect((await close(owner.key, t.id)).body.ticket.status).toBe("closed");
		const again = await reply(owner.key, t.id, "hello?");
		expect(again.status).toBe(409);
		expect((await close(TEST_ADMIN_TOKEN, t.id)).status).toBe(409);
		expect((await view(owner.key, t.id)).body.messages).toHaveLength(1);
	});

	it("shows owners only their own tickets, and answers 404 for anyone else's", async () => {
		const a = await newAccount();
		const b = await newAccount();
		const t = (await open(a.key, { subject: "mine", body: "private" })).body.ticket;
		expect((await list(b.key)).body.tickets).toEqual([]);
		expect((await list(a.key)).body.tickets.map((x) => x.id)).toEqual([t.id]);
		expect((await view(b.key, t.id)).status).toBe(404);
		expect((await reply(b.key, t.id, "let me in")).status).toBe(404);
		expect((await close(b.key, t.id)).status).toBe(404);
		expect((await view(a.key, t.id)).body.ticket.status).toBe("open");
		expect((await view(a.key, t.id)).body.messages).toHaveLength(1);
	});

	it("lets a staff account list, answer and close everyone's tickets", async () => {
		const owner = await newAccount("owner");
		const helper = await newAccount("helper");
		expect(
			(
				await callJson(`/v1/admin/accounts/${helper.id}/role`, {
					method: "PUT",
					auth: TEST_ADMIN_TOKEN,
					body: { role: "staff" },
				})
			).status,
		).toBe(200);
		const t = (await open(owner.key, { subject: "help", body: "please" })).body.ticket;
		const all = await list(helper.key);
		expect(all.body.status).toBe("active");
		expect(all.body.tickets.find((x) => x.id === t.id)).toMatchObject({ account_name: "owner", messages: 1 });
		expect((await reply(helper.key, t.id, "on it")).body.message.author).toEqual({
			role: "staff",
			account_id: helper.id,
			name: "helper",
		});
		expect((await close(helper.key, t.id)).body.ticket.closed_by).toBe("helper");
		expect((await list(helper.key)).body.tickets.find((x) => x.id === t.id)).toBeUndefined();
		expect((await list(helper.key, "?status=closed")).body.tickets.find((x) => x.id === t.id)).toBeDefined();
	});

	it("accepts only the caller's own node: another account's node is 403, an unknown one 404", async () => {
		const a = await newAccount();
		const theirs = await registerNode(await newAccount());
		expect((await open(a.key, { subject: "s", body: "b", node_id: theirs.id })).status).toBe(403);
		expect((await open(a.key, { subject: "s", body: "b", node_id: "node_doesnotexist" })).status).toBe(404);
		expect((await list(a.key)).body.tickets).toEqual([]);
	});

	it("bounds subject and body, refuses empty text and unknown fields with 400", async () => {
		const a = await newAccount();
		for (const body of [
			{ subject: "x".repeat(SUBJECT_MAX + 1), body: "b" },
			{ subject: "s", body: "x".repeat(BODY_MAX + 1) },
			{ subject: "   ", body: "b" },
			{ subject: "s" },
			{ subject: "s", body: "b", priority: "urgent" },
		]) {
			const r = await open(a.key, body);
			expect(r.status).toBe(400);
		}
		expect((await open(a.key, { subject: "x".repeat(SUBJECT_MAX), body: "x".repeat(BODY_MAX) })).status).toBe(201);
		const t = (await list(a.key)).body.tickets[0] as Ticket;
		expect((await reply(a.key, t.id, "x".repeat(BODY_MAX + 1))).status).toBe(400);
	});

	it(`allows ${OPEN_TICKETS_MAX} open tickets per account, then answers 422 until one is closed`, async () => {
		const a = await newAccount();
		const ids: string[] = [];
		for (let i = 0; i < OPEN_TICKETS_MAX; i++)
			ids.push((await open(a.key, { subject: `t${i}`, body: "b" })).body.ticket.id);
		expect((await open(a.key, { subject: "one more", body: "b" })).status).toBe(422);
		await close(a.key, ids[0] as string);
		expect((await open(a.key, { subject: "one more", body: "b" })).status).toBe(201);
	});

	it(
		`allows ${OPENED_PER_HOUR_MAX} tickets opened an hour, ` +
			`closed ones included, then answers 429 with Retry-After`,
		async () => {
			const a = await newAccount();
			for (let i = 0; i < OPENED_PER_HOUR_MAX; i++) {
				const t = await open(a.key, { subject: `t${i}`, body: "b" });
				expect(t.status).toBe(201);
				await close(a.key, t.body.ticket.id);
			}
			const res = await call("/v1/tickets", { auth: a.key, body: { subject: "again", body: "b" } });
			expect(res.status).toBe(429);
			expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
		},
	);

	it(
		`lets an owner add ${OWNER_REPLIES_PER_MINUTE_MAX} messages a ` +
			`minute to a ticket (the opening one included), and staff any number`,
		async () => {
			const a = await newAccount();
			const t = (await open(a.key, { subject: "s", body: "b" })).body.ticket;
			for (let i = 1; i < OWNER_REPLIES_PER_MINUTE_MAX; i++)
				expect((await reply(a.key, t.id, `more ${i}`)).status).toBe(201);
			expect((await reply(a.key, t.id, "and more")).status).toBe(429);
			for (let i = 0; i < OWNER_REPLIES_PER_MINUTE_MAX + 1; i++)
				expect((await reply(TEST_ADMIN_TOKEN, t.id, `staff ${i}`)).status).toBe(201);
			expect((await view(a.key, t.id)).body.messages).toHaveLength(
				OWNER_REPLIES_PER_MINUTE_MAX + OWNER_REPLIES_PER_MINUTE_MAX + 1,
			);
		},
	);

	it("refuses to open a ticket with the admin token, which is no account", async () => {
		expect((await open(TEST_ADMIN_TOKEN, { subject: "s", body: "b" })).status).toBe(403);
	});
});

describe("tickets from Discord and the API meet in one store", () => {
	it(
		"follows a ticket opened in Discord through staff " + "answers in Discord and the owner's replies over the API",
		async () => {
			const owner = await newAccount("dave");
			const node = await registerNode(owner);
			const user = await linkedUser(owner, "dave_discord");
			const opened = await slash(user, "ticket", [
				sub(
					"open",
					opt("subject", "Points look low"),
					opt("body", "Epoch 12 gave me nothing @everyone"),
					opt("node", node.id),
				),
			]);
			expect(opened.content).toContain("Opened");
			const id = ticketIdIn(opened.content);

			const api = await view(owner.key, id);
			expect(api.body.ticket).toMatchObject({
				subject: "Points look low",
				node_id: node.id,
				opened_via: "discord",
				status: "open",
			});
			expect(api.body.messages[0]).toMatchObject({ via: "discord", author: { role: "owner", name: "dave" } });
			const [post] = await staffPosts(id);
			expect(post?.content).toContain("via Discord");
			expect(post?.content).toContain("> Epoch 12 gave me nothing \\@everyone");
			expect(post?.allowed_mentions).toEqual({ parse: [] });

			const mod = staffByRole();
			const staffList = await slash(mod, "ticket", [sub("list")]);
			expect(staffList.content).toContain("**All tickets** (active");
			expect(staffList.content).toContain(id);
			expect(staffList.content).toContain("dave");
			expect(
				(await slash(mod, "ticket", [sub("reply", opt("id", id), opt("message", "Your node was offline 40 min."))]))
					.content,
			).toContain("now `waiting_on_user`");

			const after = await view(owner.key, id);
			expect(after.body.ticket.status).toBe("waiting_on_user");
			expect(after.body.messages[1]).toMatchObject({
				body: "Your node was offline 40 min.",
				via: "discord",
				author: { role: "staff", account_id: null, name: "discord:mod" },
			});
			expect((await reply(owner.key, id, "Ah, thanks.")).body.ticket.status).toBe("waiting_on_staff");

			const seen = await slash(mod, "ticket", [sub("view", opt("id", id))]);
			expect(seen.content).toContain("`waiting_on_staff`");
			expect(seen.content).toContain("**discord:mod** (staff)");
			expect(seen.content).toContain("> Ah, thanks.");
			expect((await slash(user, "ticket", [sub("close", opt("id", id))])).content).toContain("Closed");
			expect((await view(owner.key, id)).body.ticket).toMatchObject({ status: "closed", closed_by: "dave" });
			await staffPosts(id, 4);
		},
	);

	it(
		"shows a ticket opened over the API in the owner's " + "/ticket list and lets them answer staff from Discord",
		async () => {
			const owner = await newAccount("erin");
			const user = await linkedUser(owner);
			const t = (await open(owner.key, { subject: "Cannot register", body: "409 on POST /v1/nodes" })).body.ticket;
			await reply(TEST_ADMIN_TOKEN, t.id, "Every node needs its own key pair.");
			const mine = await slash(user, "ticket", [sub("list")]);
			expect(mine.content).toContain("**Your tickets**");
			expect(mine.content).toContain(`\`${t.id}\` **Cannot register** — \`waiting_on_user\``);
			const seen = await slash(user, "ticket", [sub("view", opt("id", t.id))]);
			expect(seen.content).toContain("**admin** (staff)");
			expect(
				(await slash(user, "ticket", [sub("reply", opt("id", t.id), opt("message", "Fixed, thanks"))])).content,
			).toContain("now `waiting_on_staff`");
			expect((await view(owner.key, t.id)).body.messages.at(-1)).toMatchObject({
				body: "Fixed, thanks",
				via: "discord",
				author: { role: "owner" },
			});
		},
	);

	it("keeps other users away from a ticket in Discord: no view, no reply, no close", async () => {
		const owner = await newAccount();
		const t = (await open(owner.key, { subject: "private", body: "secret details" })).body.ticket;
		const stranger = await linkedUser(await newAccount());
		for (const s of [
			sub("view", opt("id", t.id)),
			sub("reply", opt("id", t.id), opt("message", "hi")),
			sub("close", opt("id", t.id)),
		]) {
			const answer = await slash(stranger, "ticket", [s]);
			expect(answer.content).toContain(`No ticket '${t.id}' that you can see`);
			expect(answer.content).not.toContain("secret details");
		}
		const notStaff = discordUser("pretender", ["123456789012345678"]);
		expect((await slash(notStaff, "ticket", [sub("view", opt("id", t.id))])).content).toContain("Link first");
		expect((await view(owner.key, t.id)).body).toMatchObject({
			ticket: { status: "open" },
			messages: [expect.anything()],
		});
	});

	it(
		"treats a configured staff user id as staff even in a DM, " +
			"and a staff role member with no account cannot open tickets",
		async () => {
			const owner = await newAccount();
			const t = (await open(owner.key, { subject: "dm staff", body: "b" })).body.ticket;
			const staffUser = { id: DISCORD_TEST.staffUserId, username: "lead" };
			expect((await slash(staffUser, "ticket", [sub("view", opt("id", t.id))])).content).toContain("dm staff");
			expect(
				(await slash(staffByRole(), "ticket", [sub("open", opt("subject", "s"), opt("body", "b"))])).content,
			).toContain("Link first");
		},
	);

	it("makes a linked staff account staff in Discord too, even in a DM", async () => {
		const owner = await newAccount();
		const t = (await open(owner.key, { subject: "seen by staff", body: "b" })).body.ticket;
		const helper = await newAccount("helper2");
		await callJson(`/v1/admin/accounts/${helper.id}/role`, {
			method: "PUT",
			auth: TEST_ADMIN_TOKEN,
			body: { role: "staff" },
		});
		const user = await linkedUser(helper);
		expect((await slash(user, "ticket", [sub("view", opt("id", t.id))])).content).toContain("seen by staff");
		expect((await slash(user, "help")).content).toContain("You are staff here");
		expect((await slash(user, "ticket", [sub("reply", opt("id", t.id), opt("message", "hello"))])).content).toContain(
			"now `waiting_on_user`",
		);
		expect((await view(owner.key, t.id)).body.messages[1]?.author).toEqual({
			role: "staff",
			account_id: helper.id,
			name: "helper2",
		});
	});

	it("answers Discord input beyond the limits with the reason, before anything is stored", async () => {
		const user = await linkedUser(await newAccount());
		const long = await slash(user, "ticket", [
			sub("open", opt("subject", "x".repeat(SUBJECT_MAX + 1)), opt("body", "b")),
		]);
		expect(long.content).toContain(`\`subject\` must be at most ${SUBJECT_MAX} characters`);
		const other = await registerNode(await newAccount());
		expect(
			(await slash(user, "ticket", [sub("open", opt("subject", "s"), opt("body", "b"), opt("node", other.id))]))
				.content,
		).toContain("belongs to another account");
		expect((await slash(user, "ticket", [sub("list")])).content).toContain("none");
	});
});
