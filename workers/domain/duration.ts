// Durations as people type and read them: "30m", "2h", "1d" in, "3m 12s" out.

export const MAX_MUTE_MS = 30 * 24 * 3600 * 1000;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export type ParsedDuration = { ok: true; ms: number } | { ok: false; reason: string };

/** A positive whole number of minutes, hours or days ("30m", "2h", "1d"), at most 30 days. */
export function parseDuration(text: string, max = MAX_MUTE_MS): ParsedDuration {
	const m = /^(\d{1,6})\s*([mhd])$/i.exec(text.trim());
	if (!m) return { ok: false, reason: "Write a duration like 30m, 2h or 1d." };
	const ms = Number(m[1]) * UNIT_MS[(m[2] as string).toLowerCase() as keyof typeof UNIT_MS];
	if (ms <= 0) return { ok: false, reason: "The duration must be longer than zero." };
	if (ms > max) return { ok: false, reason: `The longest mute is ${formatDuration(max)}.` };
	return { ok: true, ms };
}

/** "45s", "3m 12s", "2h 5m", "1d 3h": the two largest units. */
export function formatDuration(ms: number): string {
	const s = Math.max(0, Math.round(ms / 1000));
	const parts: [number, string][] = [
		[Math.floor(s / 86400), "d"],
		[Math.floor((s % 86400) / 3600), "h"],
		[Math.floor((s % 3600) / 60), "m"],
		[s % 60, "s"],
	];
	const first = parts.findIndex(([v]) => v > 0);
	if (first < 0) return "0s";
	return parts
		.slice(first, first + 2)
		.filter(([v]) => v > 0)
		.map(([v, u]) => `${v}${u}`)
		.join(" ");
}
