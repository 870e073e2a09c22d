// The alert pipeline in the real runtime: real sockets drop, the shard hands flips to the owner's OperatorAlerts, the gate delivers to the fake Bot API.
import { describe, expect, it } from "vitest";
import { connect, newAccount, registerNode } from "./helpers.ts";
import { exactlyMessages, linkChat } from "./alert-helpers.ts";

describe("alert pipeline", () => {
	it("sends one message when one node goes down", async () => {
		const owner = await newAccount();
		const chat = await linkChat(owner);
		const node = await registerNode(owner, { region: "one-down" });
		const link = await connect(node);
		await link.next("welcome");
		link.ws.close(1000, "bye");
		const [m, ...rest] = await exactlyMessages(chat, 1);
		expect(rest).toEqual([]);
		expect(m?.text).toMatch(/^🔴 1 node offline\n• rig-1 — disconnected, last seen \d\d:\d\d:\d\d UTC$/);
	});
});
