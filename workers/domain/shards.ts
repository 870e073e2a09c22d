// Which LivenessShard owns a node: fixed at registration from the node id and region.

/** FNV-1a, 32-bit: stable across runtimes, cheap, and well spread for random ids. */
function fnv1a(text: string): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return h;
}

export function assignShard(nodeId: string, region: string | null, shardCount: number): string {
	return `${region ?? "global"}-${fnv1a(nodeId) % shardCount}`;
}
