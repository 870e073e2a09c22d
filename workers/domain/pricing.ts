// Prices: a documented base price per GPU-hour per model, times a utilisation multiplier within stated bounds.

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

/**
 * multiplier = 1 + utilisation, where utilisation = reserved GPUs / online GPUs of the model (1 when none are online).
 */
export function multiplier(reservedGpus: number, onlineGpus: number): number {
	const u = onlineGpus > 0 ? Math.min(1, Math.max(0, reservedGpus / onlineGpus)) : 1;
	return Math.min(MAX_MULTIPLIER, Math.max(MIN_MULTIPLIER, 1 + u));
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
	/** What the renter pays if the cluster runs its full term. */
	total_cents: number;
	/** Held from the renter's credits at deployment; the unused part is refunded. */
	hold_cents: number;
	/** Of the total, the network's 5 %; operators receive the rest. */
	fee_cents: number;
};

export function quote(sku: Sku, gpuCount: number, hours: number, reservedGpus: number, onlineGpus: number): Quote {
	const m = multiplier(reservedGpus, onlineGpus);
	const price = Math.ceil(sku.base_cents * m);
	const total = Math.ceil(price * gpuCount * hours);
	return {
		gpu_model: sku.name,
		gpu_count: gpuCount,
		hours,
		base_price_per_gpu_hour_cents: sku.base_cents,
		utilisation: onlineGpus > 0 ? Math.min(1, reservedGpus / onlineGpus) : 1,
		multiplier: m,
		price_per_gpu_hour_cents: price,
		total_cents: total,
		hold_cents: total,
		fee_cents: Math.floor((total * NETWORK_FEE_BP) / 10000),
	};
}
