// Collects every figure with its unit and method, prints the table, and writes bench/results.json.
import { writeFileSync } from "node:fs";

export interface Figure {
	section: string;
	name: string;
	value: number | string | null;
	unit: string;
	how: string;
	goal?: string;
	pass?: boolean;
}

export class Report {
	readonly figures: Figure[] = [];
	readonly data: Record<string, unknown> = {};

	add(f: Figure): void {
		this.figures.push(f);
	}

	goals(): Figure[] {
		return this.figures.filter((f) => f.goal !== undefined);
	}

	table(): string {
		const rows = this.figures.map((f) => [
			f.section,
			f.name,
			formatValue(f.value),
			f.unit,
			f.goal ?? "",
			f.pass === undefined ? "" : f.pass ? "PASS" : "FAIL",
		]);
		const head = ["section", "figure", "value", "unit", "goal", ""];
		const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] as string).length))));
		const line = (r: string[]) =>
			r
				.map((c, i) => (i === 2 ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
				.join("  ")
				.trimEnd();
		const out = [line(head), widths.map((w) => "-".repeat(w)).join("  ")];
		let last = "";
		for (const r of rows) {
			out.push(line([r[0] === last ? "" : (r[0] as string), ...r.slice(1)]));
			last = r[0] as string;
		}
		return out.join("\n");
	}

	write(path: string, extra: Record<string, unknown>): void {
		const body = { ...extra, figures: this.figures, goals: this.goals(), ...this.data };
		writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
	}
}

export function formatValue(v: number | string | null): string {
	if (v === null) return "n/a";
	if (typeof v === "string") return v;
	if (Number.isInteger(v)) return v.toLocaleString("en-US");
	const abs = Math.abs(v);
	const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : 4;
	return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
