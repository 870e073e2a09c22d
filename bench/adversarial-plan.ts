// The adversarial fleet's make-up: who each identity is (honest or which attack), the device it computes on, the
// address it connects from, the GPU UUIDs it reports and the account that registers it. Pure and seeded.
import { type GpuModel, lineSpec, type LineSpec, type Policy } from "./devices.ts";

export const ATTACKS = ["honest", "farm", "overclaim", "partial", "dup_uuid", "one_address"] as const;
export type Attack = (typeof ATTACKS)[number];

export interface DevicePlan {
	key: string;
	model: GpuModel;
	/** Throughput factor of this card, 1 ± DEVICE_MODEL.unevenness. */
	unevenness: number;
	policy: Policy;
	/** The card's real UUID, as nvidia-smi prints it. */
	uuid: string;
}

export interface IdentityPlan {
	index: number;
	attack: Attack;
	/** The attack's variant (farm: how its members are linked; honest: how it sits among others). */
	variant: string;
	/** Identities of one farm, sybil address or duplicated UUID pair share a group key. */
	group: string | null;
	claim: string;
	device: string;
	account: string;
	address: string;
	/** The UUIDs it reports in `x-pulsegrid-gpu-uuids`. */
	uuids: string[];
	/** Partial computers: the share of rows computed. */
	fraction: number | null;
	/** How long it holds its ack back (0: at once, as the protocol asks). */
	ackHoldMs: number;
	/** Its line, both directions. */
	line: LineSpec;
}

export interface FleetPlan {
	identities: IdentityPlan[];
	devices: Map<string, DevicePlan>;
	accounts: string[];
}

/** Shares of the fleet; the rest is honest. Farms have 2–4 members, sybil addresses 4–6 identities on 2 cards. */
export const MIX = {
	farm: 0.25,
	overclaim: 0.1,
	partial: 0.1,
	dup_uuid: 0.06,
	one_address: 0.09,
	farm_variants: ["same-/24", "shared-uuid", "one-account"],
	/** Honest identities: alone, ISP neighbours sharing a /24, an operator's machines registered together, a data
	 * centre behind one address (each with its own card). */
	honest_variants: { alone: 0.5, neighbours: 0.2, operator: 0.2, datacentre: 0.1 },
	honest_claims: ["RTX 4090", "RTX 4090", "RTX 4090", "A100", "H100 PCIe"] as GpuModel[],
	/** Overclaims: [the real card, the claimed model]; one tier or more above (workers/domain/points.ts TIERS). */
	overclaims: [
		["RTX 4080", "RTX 4090"],
		["RTX 3090", "RTX 4090"],
		["RTX 4090", "H100 PCIe"],
		["A100", "H100 PCIe"],
	] as [GpuModel, GpuModel][],
	/**
	 * Every other group of four overclaimers holds its ack back this long: the deadline counts the round trip the
	 * first ack measures, up to MAX_RTT_MS (500 ms), so a late ack buys time.
	 */
	ack_hold_ms: 450,
	/** Partial computers: half compute 90 % of the rows (the goal's hardest case), the rest 50–90 %. */
	partial_fraction: { hardest: 0.9, hardest_share: 0.5, range: [0.5, 0.9] as [number, number] },
} as const;

/** Addresses come from 198.18.0.0/15 (RFC 2544, set aside for benchmarks): 512 networks of /24. */
function network(n: number): string {
	return `198.${18 + Math.floor(n / 256)}.${n % 256}`;
}

function hex(random: () => number, n: number): string {
	let s = "";
	for (let i = 0; i < n; i++) s += Math.floor(random() * 16).toString(16);
	return s;
}

export function gpuUuid(random: () => number): string {
	return `GPU-${hex(random, 8)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 4)}-${hex(random, 12)}`;
}

/** The fleet for `size` identities; the same seed gives the same fleet. */
export function planFleet(size: number, random: () => number): FleetPlan {
	const identities: IdentityPlan[] = [];
	const devices = new Map<string, DevicePlan>();
	const accounts: string[] = [];
	let nets = 0;
	let groups = 0;
	const newNet = () => {
		if (nets >= 512) throw new RangeError("more than 512 networks: the fleet is too big for 198.18.0.0/15");
		return network(nets++);
	};
	const host = (net: string, h: number) => `${net}.${h}`;
	const newAccount = () => {
		const key = `acct-${accounts.length}`;
		accounts.push(key);
		return key;
	};
	const newDevice = (model: GpuModel, policy: Policy = "share") => {
		const key = `dev-${devices.size}`;
		const unevenness = 1 - 0.2 + random() * 0.4;
		devices.set(key, { key, model, unevenness, policy, uuid: gpuUuid(random) });
		return key;
	};
	const uuidOf = (device: string) => (devices.get(device) as DevicePlan).uuid;
	const add = (p: Omit<IdentityPlan, "index" | "line" | "fraction" | "ackHoldMs"> & Partial<IdentityPlan>) =>
		identities.push({
			...p,
			fraction: p.fraction ?? null,
			ackHoldMs: p.ackHoldMs ?? 0,
			index: identities.length,
			line: lineSpec(random),
		});
	const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
	const quota = (share: number) => Math.round(size * share);

	// Farms: M = 2..4 identities on one card, each variant linked by one signal only, half of them time-sliced.
	let left = quota(MIX.farm);
	for (let f = 0; left >= 2; f++) {
		const m = Math.min(left, 2 + (Math.floor(f / 3) % 3));
		left -= m;
		const variant = MIX.farm_variants[f % MIX.farm_variants.length] as string;
		const device = newDevice("RTX 4090", f % 2 === 0 ? "share" : "queue");
		const group = `farm-${groups++}`;
		const sharedNet = variant === "same-/24" ? newNet() : null;
		const account = variant === "one-account" ? newAccount() : null;
		for (let k = 0; k < m; k++) {
			add({
				attack: "farm",
				variant: `${variant}, ${(devices.get(device) as DevicePlan).policy}`,
				group,
				claim: "RTX 4090",
				device,
				account: account ?? newAccount(),
				address: sharedNet ? host(sharedNet, 10 + k) : host(newNet(), 10),
				// A careful farm reports a made-up UUID per identity; the shared-UUID farm reports its card's.
				uuids: [variant === "shared-uuid" ? uuidOf(device) : gpuUuid(random)],
			});
		}
	}
	// Many identities behind one address, on fewer cards than identities: 4–6 identities on 2 time-sliced cards.
	left = quota(MIX.one_address);
	while (left >= 4) {
		const n = Math.min(left, 4 + Math.floor(random() * 3));
		left -= n;
		const cards = [newDevice("RTX 4090"), newDevice("RTX 4090")];
		const address = host(newNet(), 7);
		const group = `address-${groups++}`;
		for (let k = 0; k < n; k++) {
			const device = cards[k % 2] as string;
			add({
				attack: "one_address",
				variant: `${n} identities, 2 cards`,
				group,
				claim: "RTX 4090",
				device,
				account: newAccount(),
				address,
				uuids: [gpuUuid(random)],
			});
		}
	}
	// Overclaimers: their own slower card, alone on their network.
	for (let k = 0; k < quota(MIX.overclaim); k++) {
		const [real, claimed] = MIX.overclaims[k % MIX.overclaims.length] as [GpuModel, GpuModel];
		const device = newDevice(real);
		const hold = Math.floor(k / MIX.overclaims.length) % 2 === 1 ? MIX.ack_hold_ms : 0;
		add({
			attack: "overclaim",
			variant: `${real} claiming ${claimed}${hold ? `, ack held ${hold} ms` : ""}`,
			ackHoldMs: hold,
			group: null,
			claim: claimed,
			device,
			account: newAccount(),
			address: host(newNet(), 10),
			uuids: [uuidOf(device)],
		});
	}
	// Partial computers: the claimed card, but only a fraction of the rows computed.
	for (let k = 0; k < quota(MIX.partial); k++) {
		const pf = MIX.partial_fraction;
		const fraction = k % 2 === 0 ? pf.hardest : pf.range[0] + random() * (pf.range[1] - pf.range[0]);
		const device = newDevice("RTX 4090");
		add({
			attack: "partial",
			variant: fraction === pf.hardest ? "f = 0.9" : "f in 0.5–0.9",
			group: null,
			claim: "RTX 4090",
			device,
			account: newAccount(),
			address: host(newNet(), 10),
			uuids: [uuidOf(device)],
			fraction,
		});
	}
	// Duplicated UUIDs: two identities, each with a real card of its own, reporting one UUID.
	for (let k = 0; k + 2 <= quota(MIX.dup_uuid); k += 2) {
		const uuid = gpuUuid(random);
		const group = `uuid-${groups++}`;
		for (let j = 0; j < 2; j++) {
			add({
				attack: "dup_uuid",
				variant: "two cards, one UUID",
				group,
				claim: "RTX 4090",
				device: newDevice("RTX 4090"),
				account: newAccount(),
				address: host(newNet(), 10),
				uuids: [uuid],
			});
		}
	}
	// Honest identities, each with its own card of the model it claims.
	const honest = Math.max(0, size - identities.length);
	const hv = MIX.honest_variants;
	let made = 0;
	const honestOne = (variant: string, account: string, address: string) => {
		const model = pick(MIX.honest_claims);
		const device = newDevice(model);
		add({ attack: "honest", variant, group: null, claim: model, device, account, address, uuids: [uuidOf(device)] });
		made++;
	};
	const target = (share: number) => Math.round(honest * share);
	// Data centres: 4 cards behind one address, one operator (at least one when there are 16 honest identities).
	const centres = honest >= 16 ? Math.max(1, Math.floor(target(hv.datacentre) / 4)) : 0;
	for (let dc = 0; dc < centres; dc++) {
		const account = newAccount();
		const address = host(newNet(), 20);
		for (let k = 0; k < 4; k++) honestOne("datacentre (4 cards, one address)", account, address);
	}
	// ISP neighbours: 2–3 operators in one /24.
	for (let stop = made + target(hv.neighbours); made + 2 <= stop; ) {
		const net = newNet();
		const n = Math.min(stop - made, 2 + Math.floor(random() * 2));
		for (let k = 0; k < n; k++) honestOne("neighbours (one /24)", newAccount(), host(net, 30 + k));
	}
	// Operators with 2–3 machines on different networks, registered together.
	for (let stop = made + target(hv.operator); made + 2 <= stop; ) {
		const account = newAccount();
		const n = Math.min(stop - made, 2 + Math.floor(random() * 2));
		for (let k = 0; k < n; k++) honestOne("operator (registered together)", account, host(newNet(), 40));
	}
	while (made < honest) honestOne("alone", newAccount(), host(newNet(), 50));
	return { identities, devices, accounts };
}

/** Identities whose card also serves another identity: what "sharing one device" means in the scores. */
export function sharingIdentities(plan: FleetPlan): Set<number> {
	const byDevice = new Map<string, number[]>();
	for (const i of plan.identities) byDevice.set(i.device, [...(byDevice.get(i.device) ?? []), i.index]);
	return new Set([...byDevice.values()].filter((ids) => ids.length >= 2).flat());
}

/** Identities reporting a UUID another identity also reports. */
export function duplicateUuidIdentities(plan: FleetPlan): Set<number> {
	const byUuid = new Map<string, number[]>();
	for (const i of plan.identities) for (const u of i.uuids) byUuid.set(u, [...(byUuid.get(u) ?? []), i.index]);
	return new Set([...byUuid.values()].filter((ids) => ids.length >= 2).flat());
}
