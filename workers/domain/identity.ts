// Who is behind a node, as the coordinator observes it (docs/VERIFICATION.md §13): the address its connections come
// from (never one it reports), the unit that address counts in for the availability allowance and for sharing
// suspicion, and the GPU UUIDs its agent reports.

/** The addresses a node's connection came from, as the coordinator files them. */
export interface ObservedAddress {
	/** As the edge saw it (CF-Connecting-IP), or `unknown`. */
	address: string;
	/** The availability allowance's unit: the IPv4 address itself, or the IPv6 /64 (one customer's prefix). */
	address_key: string;
	/** The sharing suspicion's unit: the IPv4 /24, or the IPv6 /64. */
	network: string;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The eight 16-bit groups of an IPv6 address (`::` expanded), or null when `ip` is not one. */
export function ipv6Groups(ip: string): number[] | null {
	if (!/^[0-9a-f:]+$/i.test(ip) || ip.split("::").length > 2) return null;
	const [head = "", tail = ""] = ip.toLowerCase().split("::");
	const left = head ? head.split(":") : [];
	const right = tail ? tail.split(":") : [];
	const fill = ip.includes("::") ? 8 - left.length - right.length : 0;
	if (fill < 0 || (!ip.includes("::") && left.length !== 8)) return null;
	const groups = [...left, ...Array<string>(fill).fill("0"), ...right].map((g) => Number.parseInt(g || "x", 16));
	return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** An IPv6 prefix of `groups` 16-bit groups, written `a:b:c::/bits`. */
export function ipv6Prefix(groups: number[], keep: number): string {
	return `${groups
		.slice(0, keep)
		.map((g) => g.toString(16))
		.join(":")}::/${keep * 16}`;
}

/** Files the address a connection came from; anything unparseable (or none) is `unknown`, its own unit. */
export function observedAddress(ip: string | null): ObservedAddress {
	const v4 = ip ? IPV4.exec(ip) : null;
	if (ip && v4?.slice(1).every((o) => Number(o) <= 255)) {
		return { address: ip, address_key: ip, network: `${v4.slice(1, 4).join(".")}.0/24` };
	}
	const v6 = ip ? ipv6Groups(ip) : null;
	if (ip && v6) {
		const slash64 = ipv6Prefix(v6, 4);
		return { address: ip, address_key: slash64, network: slash64 };
	}
	return { address: "unknown", address_key: "unknown", network: "unknown" };
}

/** At most this many UUIDs are taken from one connection (a rig is challenged on at most 16 GPUs too). */
export const MAX_GPU_UUIDS = 16;
/** nvidia-smi's form: `GPU-` or `MIG-` and a UUID. */
const GPU_UUID = /^(GPU|MIG)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The `x-pulsegrid-gpu-uuids` header: comma-separated UUIDs as nvidia-smi prints them, compared case-insensitively.
 * Absent or empty → `[]` (no NVIDIA GPU seen); anything else that is not a list of distinct UUIDs → null (refused).
 */
export function parseGpuUuids(header: string | null): string[] | null {
	if (header === null || header.trim() === "") return [];
	if (header.length > MAX_GPU_UUIDS * 50) return null;
	const uuids = header.split(",").map((u) => {
		const t = u.trim();
		return `${t.slice(0, 4).toUpperCase()}${t.slice(4).toLowerCase()}`;
	});
	if (uuids.length > MAX_GPU_UUIDS || !uuids.every((u) => GPU_UUID.test(u))) return null;
	return new Set(uuids).size === uuids.length ? uuids.sort() : null;
}

/**
 * Reported UUIDs that contradict the claim: an agent that sees fewer NVIDIA GPUs than the node claims. A node that
 * reports none (no nvidia-smi, Apple silicon) is not contradicted; it is judged by its challenges alone.
 */
export function claimMismatch(uuids: string[], claimedCount: number): string | null {
	if (uuids.length === 0 || uuids.length >= claimedCount) return null;
	return `the agent reports ${uuids.length} GPU UUID${uuids.length === 1 ? "" : "s"}; the node claims ${claimedCount}`;
}
