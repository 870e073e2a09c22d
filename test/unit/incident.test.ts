import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DropWindow, isIncident, networkOf, type Drop } from "../../workers/domain/incident.ts";
import { DEFAULT_SETTINGS as S } from "../../workers/domain/settings.ts";

/** `n` drops spread round-robin over `accounts` accounts and `networks` networks. */
function drops(n: number, accounts: number, networks: number): Drop[] {
	return Array.from({ length: n }, (_, i) => ({
		at: i,
		flipId: `node_${i}:1`,
		nodeId: `node_${i}`,
		intervalStart: null,
		origin: { accountId: `acc_${i % accounts}`, network: `10.0.${i % networks}.0/24` },
	}));
}

describe("incidents", () => {
	it("is an incident when most of a shard drops together, across operators and networks", () => {
		expect(isIncident(drops(60, 5, 5), 100, S)).toBe(true);
	});

	it("is not an incident when few nodes drop, or a small share of a big shard", () => {
		expect(isIncident(drops(S.incidentMinNodes - 1, 5, 5), S.incidentMinNodes, S)).toBe(false);
		expect(isIncident(drops(100, 5, 5), 1000, S)).toBe(false);
	});

	it("is never an incident when one operator's nodes drop, however many, whatever their region", () => {
		// The farm: one account alone in a region of its own with ~160 nodes, on many lines or one.
		expect(isIncident(drops(160, 1, 40), 160, S)).toBe(false);
		expect(isIncident(drops(160, 1, 1), 160, S)).toBe(false);
	});

	it("is never an incident when the drops are on a few networks (one operator's sybils behind one line)", () => {
		expect(isIncident(drops(160, 40, S.incidentMinNetworks - 1), 160, S)).toBe(false);
	});

	it("needs every condition: a property over drop counts, spreads and shard sizes", () => {
		fc.assert(
			fc.property(
				fc.integer({ min: 0, max: 300 }),
				fc.integer({ min: 1, max: 10 }),
				fc.integer({ min: 1, max: 10 }),
				fc.integer({ min: 0, max: 400 }),
				(n, a, w, online) => {
					const d = drops(n, a, w);
					const accounts = Math.min(a, n);
					const networks = Math.min(w, n);
					const expected =
						n >= S.incidentMinNodes &&
						n + online > 0 &&
						n >= S.incidentFraction * (n + online) &&
						accounts >= S.incidentMinAccounts &&
						networks >= S.incidentMinNetworks;
					expect(isIncident(d, n + online, S)).toBe(expected);
				},
			),
		);
	});

	it("forgets drops older than the window", () => {
		const w = new DropWindow(1000);
		const origin = { accountId: "acc_1", network: "10.0.0.0/24" };
		w.add(0, { id: "a:1", nodeId: "a", intervalStart: null }, origin);
		w.add(900, { id: "b:1", nodeId: "b", intervalStart: 10 }, origin);
		expect(w.recent(1500).map((d) => d.nodeId)).toEqual(["b"]);
	});
});

describe("networkOf", () => {
	it("groups IPv4 addresses by /24 and IPv6 by /48, whatever the notation", () => {
		expect(networkOf("203.0.113.7")).toBe("203.0.113.0/24");
		expect(networkOf("203.0.113.250")).toBe(networkOf("203.0.113.7"));
		expect(networkOf("203.0.114.7")).not.toBe(networkOf("203.0.113.7"));
		expect(networkOf("2001:db8:abcd:12::1")).toBe("2001:db8:abcd::/48");
		expect(networkOf("2001:0db8:abcd:0099:0:0:0:1")).toBe("2001:db8:abcd::/48");
		expect(networkOf("2001:db8::1")).toBe("2001:db8:0::/48");
		expect(networkOf(null)).toBe("unknown");
		expect(networkOf("not an address")).toBe("unknown");
	});
});
