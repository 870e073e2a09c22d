// What this machine offers: GPU detection (nvidia-smi, Apple system_profiler), CPU and RAM, and flag overrides.
import { execFile } from "node:child_process";
import { availableParallelism, totalmem } from "node:os";
import { parseGpuUuids } from "../workers/domain/identity.ts";
import { UsageError } from "./errors.ts";

/** The hardware block of POST /v1/nodes. */
export interface Hardware {
	gpu_model: string;
	gpu_count: number;
	/** Per GPU, GiB; for Apple silicon the unified memory, i.e. all RAM. */
	vram_gb: number;
	cpu_cores: number;
	ram_gb: number;
}

export interface DetectedGpu {
	gpu_model: string;
	gpu_count: number;
	/** Null when the tool does not report memory (e.g. "[N/A]"): the user must pass --vram-gb. */
	vram_gb: number | null;
	source: "nvidia-smi" | "system_profiler";
	/** Something the user should know, e.g. that mixed GPU models were found. */
	note?: string;
}

const MAX_MODEL_CHARS = 64;
const GIB = 1024 ** 3;

/** GiB, rounded to a whole number; below 1 GiB to one decimal so it never rounds to 0. */
export function roundGib(gib: number): number {
	return gib >= 1 ? Math.round(gib) : Math.max(0.1, Math.round(gib * 10) / 10);
}

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits`: one "name, MiB" line per GPU.
 * Mixed models: the node is registered as the most numerous model (ties: the one with most memory), with a note.
 */
export function parseNvidiaSmi(output: string): DetectedGpu | null {
	const gpus: { name: string; mib: number | null }[] = [];
	for (const line of output.split(/\r?\n/)) {
		if (!line.trim()) continue;
		const comma = line.lastIndexOf(",");
		if (comma < 0) continue;
		const name = line.slice(0, comma).trim();
		const mib = Number(line.slice(comma + 1).trim());
		if (!name) continue;
		gpus.push({ name, mib: Number.isFinite(mib) && mib > 0 ? mib : null });
	}
	if (gpus.length === 0) return null;
	const groups = new Map<string, { count: number; mib: number | null }>();
	for (const g of gpus) {
		const cur = groups.get(g.name);
		groups.set(g.name, { count: (cur?.count ?? 0) + 1, mib: minKnown(cur?.mib ?? null, g.mib, cur === undefined) });
	}
	const ranked = [...groups.entries()].sort(([, a], [, b]) => b.count - a.count || (b.mib ?? 0) - (a.mib ?? 0));
	const [model, best] = ranked[0] as [string, { count: number; mib: number | null }];
	const gpu: DetectedGpu = {
		gpu_model: model.slice(0, MAX_MODEL_CHARS),
		gpu_count: best.count,
		vram_gb: best.mib === null ? null : roundGib(best.mib / 1024),
		source: "nvidia-smi",
	};
	if (ranked.length > 1) {
		gpu.note =
			`found ${gpus.length} GPUs of ${ranked.length} models ` +
			`(${ranked.map(([n, g]) => `${g.count} × ${n}`).join(", ")}); registering the ${best.count} × ${model}`;
	}
	return gpu;
}

/** The smallest known memory of a group: a job can count on that much per GPU. */
function minKnown(a: number | null, b: number | null, first: boolean): number | null {
	if (first) return b;
	if (a === null || b === null) return null;
	return Math.min(a, b);
}

/**
 * Parses `system_profiler SPDisplaysDataType -json`. Only Apple silicon counts: its GPU shares the unified
 * memory, so vram is the machine's total RAM (`ramGb`). Intel Macs' GPUs are not offered.
 */
export function parseSystemProfiler(json: string, ramGb: number): DetectedGpu | null {
	let parsed: unknown;
	try {
		parsed = JSON.parse(json);
	} catch {
		return null;
	}
	const items = (parsed as { SPDisplaysDataType?: unknown } | null)?.SPDisplaysDataType;
	if (!Array.isArray(items)) return null;
	for (const item of items as Record<string, unknown>[]) {
		if (!item || typeof item !== "object") continue;
		const model = typeof item.sppci_model === "string" ? item.sppci_model.trim() : "";
		const vendor = typeof item.spdisplays_vendor === "string" ? item.spdisplays_vendor : "";
		if (/^Apple M\d/.test(model) || (model && /apple/i.test(vendor) && /^Apple\b/.test(model))) {
			return {
				gpu_model: model.slice(0, MAX_MODEL_CHARS),
				gpu_count: 1,
				vram_gb: roundGib(ramGb),
				source: "system_profiler",
			};
		}
	}
	return null;
}

export function localCpuCores(): number {
	return availableParallelism();
}

export function localRamGb(): number {
	return roundGib(totalmem() / GIB);
}

export type RunCommand = (cmd: string, args: string[]) => Promise<string | null>;

/** Runs a command and returns its stdout, or null if it is missing, fails or hangs. */
export const runCommand: RunCommand = (cmd, args) =>
	new Promise((resolve) => {
		execFile(cmd, args, { timeout: 15_000, maxBuffer: 4 * 1024 * 1024, windowsHide: true }, (err, stdout) =>
			resolve(err ? null : stdout),
		);
	});

/**
 * The UUIDs of this machine's NVIDIA GPUs (`nvidia-smi --query-gpu=uuid`), reported on every connection so the
 * coordinator can tell one card registered twice (docs/VERIFICATION.md §13). None without nvidia-smi, or when its
 * output is not a list of UUIDs.
 */
export async function detectGpuUuids(run: RunCommand = runCommand): Promise<string[]> {
	const out = await run("nvidia-smi", ["--query-gpu=uuid", "--format=csv,noheader"]);
	const lines = (out ?? "")
		.split(/\r?\n/)
		.map((l) => l.trim())
		.filter(Boolean);
	return parseGpuUuids(lines.join(",")) ?? [];
}

export async function detectGpu(
	ramGb: number,
	run: RunCommand = runCommand,
	platform: NodeJS.Platform = process.platform,
): Promise<DetectedGpu | null> {
	const smi = await run("nvidia-smi", ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]);
	const nvidia = smi === null ? null : parseNvidiaSmi(smi);
	if (nvidia) return nvidia;
	if (platform === "darwin") {
		const profile = await run("system_profiler", ["SPDisplaysDataType", "-json"]);
		if (profile !== null) return parseSystemProfiler(profile, ramGb);
	}
	return null;
}

export type HardwareFlags = Partial<Hardware>;

/** Merges detection with flags (flags win); fails with the flags to pass when something is still unknown. */
export function resolveHardware(
	gpu: DetectedGpu | null,
	local: { cpu_cores: number; ram_gb: number },
	flags: HardwareFlags,
): Hardware {
	const gpuModel = flags.gpu_model?.trim() || gpu?.gpu_model;
	if (!gpuModel) {
		throw new UsageError(
			"No GPU detected (no NVIDIA GPU via nvidia-smi, no Apple silicon via system_profiler). " +
				"Describe it with flags: --gpu-model NAME --gpu-count N " +
				"--vram-gb GB_PER_GPU (optionally --cpu-cores N --ram-gb GB).",
		);
	}
	// A model given by flag describes different hardware from the detected one: take nothing else from detection.
	const fromDetection = flags.gpu_model === undefined || flags.gpu_model.trim() === gpu?.gpu_model ? gpu : null;
	const vram = flags.vram_gb ?? fromDetection?.vram_gb ?? null;
	if (vram === null) {
		throw new UsageError(`The memory of '${gpuModel}' is unknown; pass --vram-gb GB (per GPU).`);
	}
	return {
		gpu_model: gpuModel,
		gpu_count: flags.gpu_count ?? fromDetection?.gpu_count ?? 1,
		vram_gb: vram,
		cpu_cores: flags.cpu_cores ?? local.cpu_cores,
		ram_gb: flags.ram_gb ?? local.ram_gb,
	};
}

export function describeHardware(h: {
	gpu_model: string;
	gpu_count: number;
	vram_gb: number;
	cpu_cores?: number;
	ram_gb?: number;
}): string {
	const cpu = h.cpu_cores === undefined ? "" : `; ${h.cpu_cores} CPU cores, ${h.ram_gb} GB RAM`;
	return `${h.gpu_count} × ${h.gpu_model}, ${h.vram_gb} GB VRAM each${cpu}`;
}
