// Who is behind a node as the coordinator files it: the address units, the reported GPU UUIDs, and the claim they
// can contradict (docs/VERIFICATION.md §13).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { claimMismatch, observedAddress, parseGpuUuids, ipv6Groups } from "../../workers/domain/identity.ts";
import { networkOf } from "../../workers/domain/incident.ts";

const uuid = (n: number) => `GPU-${n.toString(16).padStart(8, "0")}-1111-2222-3333-444455556666`;

describe("observed addresses", () => {
	it("counts an IPv4 address on its own for the allowance and by /24 for sharing", () => {
		expect(observedAddress("203.0.113.7")).toEqual({
			address: "203.0.113.7",
			address_key: "203.0.113.7",
			network: "203.0.113.0/24",
		});
	});

	it("counts an IPv6 address by its /64 for both, whatever its spelling", () => {
		const a = observedAddress("2001:db8:0:1:aaaa::1");
		const b = observedAddress("2001:0DB8:0000:0001:bbbb:cccc:dddd:eeee");
		expect(a.address_key).toBe("2001:db8:0:1::/64");
		expect(b).toMatchObject({ address_key: a.address_key, network: a.network });
		expect(networkOf("2001:db8:0:1:aaaa::1")).toBe("2001:db8:0::/48"); // incidents keep the site (/48)
	});

	it("files anything it cannot parse, or no address, as unknown", () => {
		for (const ip of [null, "", "999.1.1.1", "1.2.3", "::1::2", "2001:db8::g", "1:2:3:4:5:6:7:8:9", "local"]) {
			expect(observedAddress(ip).address_key).toBe("unknown");
		}
	});

	it("expands every IPv6 spelling to eight groups", () => {
		fc.assert(
			fc.property(fc.ipV6(), (ip) => {
				const g = ipv6Groups(ip);
				if (ip.includes(".")) return; // embedded IPv4 tails are not a spelling the edge sends
				expect(g).toHaveLength(8);
			}),
		);
	});
});

describe("reported GPU UUIDs", () => {
	it("takes nvidia-smi's UUIDs, comma-separated, case-insensitively, sorted", () => {
		expect(parseGpuUuids(null)).toEqual([]);
		expect(parseGpuUuids(" ")).toEqual([]);
		expect(parseGpuUuids(`${uuid(2).toUpperCase().replace("GPU", "gpu")}, ${uuid(1)}`)).toEqual([uuid(1), uuid(2)]);
	});

	it("refuses anything else: not a UUID, repeated, or too many", () => {
		expect(parseGpuUuids("GPU-1234")).toBeNull();
		expect(parseGpuUuids(`${uuid(1)},${uuid(1)}`)).toBeNull();
		expect(parseGpuUuids(Array.from({ length: 17 }, (_, i) => uuid(i)).join(","))).toBeNull();
		expect(parseGpuUuids(`${uuid(1)},`)).toBeNull();
	});

	it("contradicts a claim of more GPUs than the agent sees, never a node that reports none", () => {
		expect(claimMismatch([uuid(1)], 8)).toMatch(/reports 1 GPU UUID; the node claims 8/);
		expect(claimMismatch([], 8)).toBeNull();
		expect(claimMismatch([uuid(1), uuid(2)], 2)).toBeNull();
	});
});
