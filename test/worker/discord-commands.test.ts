// Every slash command through a really signed interaction: answers, privacy, deferral and follow-ups as the fake
// Discord API received them.
import { env } from "cloudflare:workers";
import { InteractionResponseFlags, InteractionResponseType } from "discord-interactions";
import { describe, expect, it } from "vitest";
import { COMMANDS, isSubcommands } from "../../bots/discord/commands.ts";
import { linkedAccount } from "../../workers/db/links.ts";
import { call, callJson, connect, eventually, healthyAgent, newAccount, registerNode } from "./helpers.ts";
import { DISCORD_TEST, discordUser, fakeState, linkedUser, opt, slash, sub } from "./discord-helpers.ts";
import { nodeWithPoints, settleEpoch } from "./alert-helpers.ts";

const EPHEMERAL = InteractionResponseFlags.EPHEMERAL;

async function nodeStatus(id: string): Promise<string> {
	return (await callJson<{ node: { status: string } }>(`/v1/nodes/${id}`)).body.node.status;
}

describe("Discord commands: linking", () => {
	it("links the Discord user to the account that asked for the code, privately", async () => {
		const account = await newAccount("alice");
		const { body } = await callJson<{ code: string; discord: string }>("/v1/links", {
			method: "POST",
			auth: account.key,
		});
		expect(body.discord).toBe(`/link code:${body.code}`);
		const user = discordUser();
		const answer = await slash(user, "link", [opt("code", body.code)]);
		expect(answer.type).toBe(InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE);
		expect(answer.flags).toBe(EPHEMERAL);
		expect(answer.content).toContain("linked to **alice**");
		expect((await linkedAccount(env.DB, "discord", user.id))?.id).toBe(account.id);
	});

	it("tells the user when a code is unknown or already used, and links nobody", async () => {
		const user = discordUser();
		expect((await slash(user, "link", [opt("code", "NOTACODE42")])).content).toContain("not valid");
		const account = await newAccount();
		const { body } = await callJson<{ code: string }>("/v1/links", { method: "POST", auth: account.key });
		await slash(discordUser(), "link", [opt("code", body.code)]);
		expect((await slash(user, "link", [opt("code", body.code)])).content).toContain("already been used");
		expect(await linkedAccount(env.DB, "discord", user.id)).toBeNull();
	});

	it("unlinks on /unlink, after which account commands say to link first", async () => {
		const user = await linkedUser(await newAccount());
		expect((await slash(user, "unlink")).content).toContain("Unlinked");
		expect((await slash(user, "status")).content).toContain("Link first");
	});

	it("answers every account command of an unlinked user with how to link, privately", async () => {
		const user = discordUser();
		for (const [name, options] of [
			["status", []],
			["points", []],
			["alerts", []],
			["ticket", [sub("open", opt("subject", "s"), opt("body", "b"))]],
			["ticket", [sub("list")]],
		] as const) {
			const answer = await slash(user, name, [...options]);
			expect(answer.flags).toBe(EPHEMERAL);
			expect(answer.content).toContain("Link first");
			expect(answer.content).toContain("POST /v1/links");
		}
	});
});

describe("Discord commands: friendly answers to what it does not know", () => {
	it("answers an unknown command with a pointer to /help", async () => {
		const answer = await slash(discordUser(), "mine-bitcoin");
		expect(answer.flags).toBe(EPHEMERAL);
		expect(answer.content).toContain("I don't know `/mine-bitcoin`");
		expect(answer.content).toContain("/help");
	});

	it("answers an unknown option, a wrong type, a missing option and an unknown subcommand with the usage", async () => {
		const user = discordUser();
		expect((await slash(user, "status", [opt("verbose", "yes")])).content).toContain(
			"I don't know the option `verbose`",
		);
		expect((await slash(user, "points", [opt("epoch", "seven")])).content).toContain("I don't know the option `epoch`");
		expect((await slash(user, "node")).content).toContain("`id` is required. Usage: `/node id:<text>`");
		expect((await slash(user, "ticket", [sub("delete", opt("id", "tkt_x"))])).content).toContain(
			"needs one of: open, list, view, reply, close",
		);
		expect((await slash(user, "ticket", [sub("list", opt("status", "pending"))])).content).toContain("must be one of");
	});

	it("lists every command and subcommand in /help, from the same metadata that registers them", async () => {
		const answer = await slash(discordUser(), "help");
		expect(answer.flags).toBe(EPHEMERAL);
		for (const c of COMMANDS) {
			if (isSubcommands(c.options)) for (const s of c.options) expect(answer.content).toContain(`/${c.name} ${s.name}`);
			else expect(answer.content).toContain(`/${c.name}`);
		}
	});
});

describe("Discord commands: nodes", () => {
	it("defers /status privately and completes it with the nodes worst first, agreeing with GET /v1/nodes", async () => {
		const account = await newAccount("fleet");
		const user = await linkedUser(account);
		const [up, down, service, fresh] = [
			await registerNode(account, { name: "up" }),
			await registerNode(account, { name: "down" }),
			await registerNode(account, { name: "service" }),
			await registerNode(account, { name: "fresh" }),
		];
		const upLink = await connect(up);
		await upLink.next("welcome");
		const stop = healthyAgent(upLink, up);
		const downLink = await connect(down);
		await downLink.next("welcome");
		downLink.ws.close(1000, "bye");
		await eventually(async () => (await nodeStatus(down.id)) === "offline");
		expect(
			(await call(`/v1/nodes/${service.id}`, { method: "PATCH", auth: account.key, body: { maintenance: true } }))
				.status,
		).toBe(200);

		const answer = await slash(user, "status");
		stop();
		expect(answer.type).toBe(InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE);
		expect(answer.flags).toBe(EPHEMERAL);
		const c = answer.content;
		expect(c).toContain("4 nodes: 1 online · 1 offline · 1 in maintenance · 1 never connected");
		const order = ["down", "service", "fresh", "up"].map((n) => c.indexOf(`**${n}**`));
		expect(order.every((i) => i > 0)).toBe(true);
		expect([...order].sort((a, b) => a - b)).toEqual(order);
		expect(c).toMatch(new RegExp(`\\*\\*down\\*\\* \`${down.id}\` — offline since <t:\\d+:R>, last seen <t:\\d+:R>`));
		expect(c).toContain("**service**");
		expect(c).toMatch(/in maintenance since <t:\d+:R>/);
		expect(c).toContain("never connected");
		const api = (await callJson<{ nodes: { id: string; status: string }[] }>("/v1/nodes", { auth: account.key })).body
			.nodes;
		expect(Object.fromEntries(api.map((n) => [n.id, n.status]))).toEqual({
			[up.id]: "online",
			[down.id]: "offline",
			[service.id]: "maintenance",
			[fresh.id]: "new",
		});
	});

	it("completes the follow-up through the interaction's own webhook, with mentions disabled", async () => {
		const user = await linkedUser(await newAccount());
		const answer = await slash(user, "status");
		const edit = (await fakeState()).edits.find((e) => e.token === answer.token);
		expect(edit).toMatchObject({ application_id: DISCORD_TEST.applicationId, allowed_mentions: { parse: [] } });
		expect(answer.content).toContain("You have no nodes yet");
	});

	it("shows the owner everything about a node in /node, and anyone else only its public side", async () => {
		const owner = await newAccount("owner");
		const node = await registerNode(owner, { name: "rig-9" });
		const mine = await slash(await linkedUser(owner), "node", [opt("id", node.id)]);
		expect(mine.content).toContain("**rig\\-9**");
		expect(mine.content).toContain("1× RTX 4090, 24 GB VRAM");
		expect(mine.content).toContain("Yours · maintenance off · shard");
		const theirs = await slash(discordUser(), "node", [opt("id", node.id)]);
		expect(theirs.content).toContain("**rig\\-9**");
		expect(theirs.content).not.toContain("shard");
		expect(theirs.content).not.toContain("Yours");
		expect((await slash(discordUser(), "node", [opt("id", "node_nothere")])).content).toContain(
			"No node `node_nothere`",
		);
	});
});

describe("Discord commands: points, leaderboard, network", () => {
	it("says plainly when no epoch is settled, or the epoch asked for does not exist", async () => {
		const user = await linkedUser(await newAccount());
		const answer = await slash(user, "points", [opt("epoch", 999_999)]);
		expect(answer.content).toContain("No epoch 999999");
	});

	it(
		"breaks down the account's points in a settled epoch with every term, " + "as GET /v1/nodes/:id/points does",
		async () => {
			const account = await newAccount("earner");
			const user = await linkedUser(account);
			const { node, epoch } = await nodeWithPoints(account, undefined, 0);
			const api = (
				await callJson<{
					points: number;
					terms: { availability_points: number; compute_points: number; penalty_points: number };
				}>(`/v1/nodes/${node.id}/points?epoch=${epoch}`)
			).body;

			const answer = await slash(user, "points", [opt("epoch", epoch)]);
			expect(answer.flags).toBe(EPHEMERAL);
			expect(answer.content).toContain(`**Epoch ${epoch}**`);
			expect(answer.content).toContain(`**${api.points}** points`);
			expect(answer.content).toContain(
				`availability **${api.terms.availability_points}** · ` +
					`compute **${api.terms.compute_points}** · penalty **−${api.terms.penalty_points}**`,
			);
			expect(answer.content).toMatch(/inputs: online \d+ s · incident credit \d+ s · rented 0 GPU-s · 1× RTX 4090/);
			expect(answer.content).toContain("Formula: availability = floor(");

			const one = await slash(user, "points", [opt("epoch", epoch), opt("node", node.id)]);
			expect(one.content).toContain(`**${node.id}** — **${api.points}** points`);
			const other = await registerNode(await newAccount());
			expect((await slash(user, "points", [opt("epoch", epoch), opt("node", other.id)])).content).toContain(
				"None of your nodes",
			);
		},
	);

	it("shows the leaderboard publicly, marking the caller", async () => {
		const account = await newAccount("leader");
		const user = await linkedUser(account);
		await registerNode(account);
		const epoch = await settleEpoch();
		const answer = await slash(user, "leaderboard", [opt("epoch", epoch)]);
		expect(answer.type).toBe(InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE);
		expect(answer.flags).toBe(0);
		expect(answer.content).toContain(`Leaderboard, epoch ${epoch}`);
		const api = (await callJson<{ leaders: { name: string; points: number }[] }>(`/v1/leaderboard?epoch=${epoch}`)).body
			.leaders;
		expect(answer.content).toContain(`1. **${api[0]?.name}** — ${api[0]?.points} points`);
	});

	it("shows the network statistics GET /v1/stats serves, publicly", async () => {
		const answer = await slash(discordUser(), "network");
		expect(answer.flags).toBe(0);
		const s = (await callJson<{ nodes_online: number; nodes_registered: number; gpus_online: number }>("/v1/stats"))
			.body;
		expect(answer.content).toContain(
			`Nodes online: **${s.nodes_online}** of ${s.nodes_registered} registered · GPUs online: **${s.gpus_online}**`,
		);
	});
});

describe("Discord commands: alerts", () => {
	it(
		"points alerts at a Discord channel webhook through " + "the same settings as the API, never echoing the secret",
		async () => {
			const account = await newAccount();
			const user = await linkedUser(account);
			const url = "https://discord.com/api/webhooks/123456789012345678/SECRET-token-abcdefghijklmnop";
			const answer = await slash(user, "alerts", [opt("webhook", url)]);
			expect(answer.flags).toBe(EPHEMERAL);
			expect(answer.content).toContain("Discord channel webhook");
			expect(answer.content).not.toContain("SECRET");
			const api = await callJson<{ settings: { discord_webhook: string | null } }>("/v1/alerts/settings", {
				auth: account.key,
			});
			expect(api.body.settings.discord_webhook).toMatch(/123456789012345678/);
			expect(api.body.settings.discord_webhook).not.toContain("SECRET");
		},
	);

	it(
		"defers /alerts (it asks the account's alerts object) and " +
			"completes it with the settings GET /v1/alerts/settings serves",
		async () => {
			const account = await newAccount();
			const user = await linkedUser(account);
			await call("/v1/alerts/settings", {
				method: "PATCH",
				auth: account.key,
				body: { digest: true, digest_hour_utc: 6 },
			});
			const answer = await slash(user, "alerts");
			expect(answer.type).toBe(InteractionResponseType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE);
			expect(answer.flags).toBe(EPHEMERAL);
			expect(answer.content).toContain("Node alerts: **on** · daily digest: **on, 6:00 UTC**");
			expect(answer.content).toContain("Telegram chats linked: 0");
		},
	);

	it("answers /link, /unlink and /help at once: they only read and write single rows", async () => {
		const account = await newAccount("quick");
		const { body } = await callJson<{ code: string }>("/v1/links", { method: "POST", auth: account.key });
		const user = discordUser();
		for (const [name, options] of [
			["link", [opt("code", body.code)]],
			["help", []],
			["unlink", []],
		] as const) {
			expect((await slash(user, name, [...options])).type, name).toBe(
				InteractionResponseType.CHANNEL_MESSAGE_WITH_SOURCE,
			);
		}
	});

	it("refuses a URL that is not a Discord webhook and changes nothing", async () => {
		const account = await newAccount();
		const user = await linkedUser(account);
		const answer = await slash(user, "alerts", [opt("webhook", "https://evil.example/hook")]);
		expect(answer.content).toMatch(/must be a Discord webhook URL/);
		const api = await callJson<{ settings: { discord_webhook: string | null } }>("/v1/alerts/settings", {
			auth: account.key,
		});
		expect(api.body.settings.discord_webhook).toBeNull();
	});
});
