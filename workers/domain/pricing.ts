// Prices: a documented base price per GPU-hour per model, times a utilisation multiplier within stated bounds;
// what an order costs, and the network's fee on a charge. Quotes, `/v1/prices` and billing all compute them here.

export interface Sku {
	/** The name renters use in `gpu_model`. */
	name: string;
	/** Matches the model strings nodes claim. */
	pattern: RegExp;
	/** Base price per GPU-hour, in US cents. */
	base_cents: number;
}

/** Base prices per GPU-hour (USD cents), first match wins when mapping a node's claimed model. */
export const SKUS: Sku[] = [
	{ name: "H100", pattern: /\bH100\b/i, base_cents: 249 },
	{ name: "A100", pattern: /\bA100\b/i, base_cents: 129 },
	{ name: "L40S", pattern: /\bL40S?\b/i, base_cents: 89 },
	{ name: "RTX 4090", pattern: /\b4090\b/i, base_cents: 39 },
	{ name: "RTX 4080", pattern: /\b4080\b/i, base_cents: 29 },
	{ name: "RTX 3090", pattern: /\b3090\b/i, base_cents: 22 },
	{ name: "Apple M-series", pattern: /\b(Apple|M[1-4])\b/i, base_cents: 10 },
];

/** Utilisation multiplier bounds: idle capacity is sold at the base price, fully booked capacity at twice it. */
export const MIN_MULTIPLIER = 1;
export const MAX_MULTIPLIER = 2;
/** The network's fee on every charge; operators receive the rest. */
export const NETWORK_FEE_BP = 500;

export function skuOf(gpuModel: string): Sku | null {
	return SKUS.find((s) => s.pattern.test(gpuModel)) ?? null;
}

export function skuByName(name: string): Sku | null {
	return SKUS.find((s) => s.name.toLowerCase() === name.trim().toLowerCase()) ?? null;
}

/** What the Scheduler reports for one model at a moment: `Scheduler.usage`. */
export type Usage = { online_gpus: number; reserved_gpus: number };

/** Reserved / online GPUs of the model, within 0–1 (1 when none are online: there is nothing to sell). */
export function utilisation(u: Usage): number {
	return u.online_gpus > 0 ? Math.min(1, Math.max(0, u.reserved_gpus / u.online_gpus)) : 1;
}

/**
 * multiplier = 1 + utilisation, where utilisation = reserved GPUs / online GPUs of the model (1 when none are online).
 */
export function multiplier(reservedGpus: number, onlineGpus: number): number {
	const u = utilisation({ online_gpus: onlineGpus, reserved_gpus: reservedGpus });
	return Math.min(MAX_MULTIPLIER, Math.max(MIN_MULTIPLIER, 1 + u));
}

/**
 * The price per GPU-hour in cents: ceil(base × (1 + reserved / online)). The one place it is computed, so that
 * `/v1/prices`, a quote and a deploy at the same usage agree. Integer arithmetic, because the float
 * `base × multiplier` can land a hair above a whole number (ceil would then add a cent).
 */
export function pricePerGpuHourCents(sku: Sku, u: Usage): number {
	const online = Math.max(0, Math.floor(u.online_gpus));
	if (online === 0) return sku.base_cents * MAX_MULTIPLIER;
	const reserved = Math.min(online, Math.max(0, Math.floor(u.reserved_gpus)));
	return ceilDiv(sku.base_cents * (online + reserved), online);
}

/**
 * The operators' part of a charge: floor(95 %). Billing shares exactly this among a cluster's members, so the network
 * keeps the rest (at least 5 %: rounding goes its way).
 */
export function operatorsShare(chargeCents: number): number {
	return Math.floor((chargeCents * (10000 - NETWORK_FEE_BP)) / 10000);
}

/**
 * The network's fee on a charge: charge − operators' share. Both the quote and billing use it, so a quote's
 * `fee_cents` is the fee billing takes when it charges `total_cents`, in one step or in several.
 */
export function feeOf(chargeCents: number): number {
	return chargeCents - operatorsShare(chargeCents);
}

/** A type alias, not an interface, so that it is plain JSON to RPC and to `Failure.details`. */
export type Quote = {
	gpu_model: string;
	gpu_count: number;
	hours: number;
	base_price_per_gpu_hour_cents: number;
	utilisation: number;
	multiplier: number;
	price_per_gpu_hour_cents: number;
	/** What the renter pays if the cluster runs its full term: billing's charge for GPUs × hours at the price. */
	total_cents: number;
	/** Held from the renter's credits at deployment; the unused part is refunded. */
	hold_cents: number;
	/** The network's fee on the total: total − floor(95 % of total), what billing takes when it charges the total. */
	fee_cents: number;
};

const HOUR_MS = 3_600_000;

/**
 * Cents owed for `gpuMs` GPU-milliseconds at `priceCents` per GPU-hour, floored: what billing charges, and so what a
 * quote's total is.
 */
export function centsFor(gpuMs: number, priceCents: number): number {
	return Math.floor((gpuMs * priceCents) / HOUR_MS);
}

/**
 * The price of an order at the model's usage before it (what `/v1/prices` shows at that moment): the order itself is
 * not counted as reserved. The total is what billing charges for the full term (`centsFor` its GPU-ms, the term in
 * whole ms), so that a quote's total and fee are the bill's when the cluster runs its term.
 */
export function quote(sku: Sku, gpuCount: number, hours: number, usage: Usage): Quote {
	const price = pricePerGpuHourCents(sku, usage);
	const total = centsFor(gpuCount * Math.round(hours * HOUR_MS), price);
	return {
		gpu_model: sku.name,
		gpu_count: gpuCount,
		hours,
		base_price_per_gpu_hour_cents: sku.base_cents,
		utilisation: utilisation(usage),
		multiplier: multiplier(usage.reserved_gpus, usage.online_gpus),
		price_per_gpu_hour_cents: price,
		total_cents: total,
		hold_cents: total,
		fee_cents: feeOf(total),
	};
}

/** ceil(n / d) for non-negative safe integers, exactly (a float quotient can land a hair above a whole number). */
function ceilDiv(n: number, d: number): number {
	const r = n % d;
	return (n - r) / d + (r > 0 ? 1 : 0);
}
