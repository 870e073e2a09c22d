// Hardware detection: parsers fed with recorded nvidia-smi and system_profiler output, and the flag rules.
import { describe, expect, it } from "vitest";
import {
	detectGpu,
	detectGpuUuids,
	parseNvidiaSmi,
	parseSystemProfiler,
	resolveHardware,
} from "../../agent/hardware.ts";
import { UsageError } from "../../agent/errors.ts";

// `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` on an 8-GPU A100 server.
const DGX_A100 = Array(8).fill("NVIDIA A100-SXM4-80GB, 81920").join("\n") + "\n";
const TWO_4090 = "NVIDIA GeForce RTX 4090, 24564\r\nNVIDIA GeForce RTX 4090, 24564\r\n";
const MIXED = "NVIDIA GeForce RTX 3090, 24576\nNVIDIA GeForce RTX 3090, 24576\nNVIDIA GeForce GT 1030, 2001\n";
const GB10 = "NVIDIA GB10, [N/A]\n";

// `system_profiler SPDisplaysDataType -json` on an M2 Max MacBook Pro with an external display.
const M2_MAX = JSON.stringify(
	{
		SPDisplaysDataType: [
			{
				_name: "Apple M2 Max",
				spdisplays_mtlgpufamilysupport: "spdisplays_metal3",
				spdisplays_ndrvs: [
					{
						_name: "Color LCD",
						"_spdisplays_display-product-id": "a050",
						_spdisplays_pixels: "3456 x 2234",
						spdisplays_main: "spdisplays_yes",
					},
					{ _name: "DELL U2720Q", _spdisplays_pixels: "3840 x 2160", spdisplays_online: "spdisplays_yes" },
				],
				spdisplays_vendor: "sppci_vendor_Apple",
				sppci_bus: "spdisplays_builtin",
				sppci_cores: "38",
				sppci_device_type: "spdisplays_gpu",
				sppci_model: "Apple M2 Max",
			},
		],
	},
	null,
	2,
);

// An Intel MacBook Pro: integrated Intel plus a discrete AMD GPU, no Apple silicon.
const INTEL_MAC = JSON.stringify({
	SPDisplaysDataType: [
		{
			_name: "Intel UHD Graphics 630",
			spdisplays_vendor: "sppci_vendor_intel",
			sppci_model: "Intel UHD Graphics 630",
			spdisplays_vram_shared: "1536 MB",
		},
		{
			_name: "AMD Radeon Pro 5500M",
			spdisplays_vendor: "sppci_vendor_amd",
			sppci_model: "AMD Radeon Pro 5500M",
			spdisplays_vram: "8 GB",
		},
	],
});

describe("parseNvidiaSmi", () => {
	it("counts one GPU per line and reports per-GPU memory in GiB", () => {
		expect(parseNvidiaSmi(DGX_A100)).toEqual({
			gpu_model: "NVIDIA A100-SXM4-80GB",
			gpu_count: 8,
			vram_gb: 80,
			source: "nvidia-smi",
		});
	});

	it("rounds MiB to the nearest GiB and accepts CRLF line ends", () => {
		expect(parseNvidiaSmi(TWO_4090)).toMatchObject({ gpu_model: "NVIDIA GeForce RTX 4090", gpu_count: 2, vram_gb: 24 });
	});

	it("registers the most numerous model of a mixed machine and says so in a note", () => {
		const gpu = parseNvidiaSmi(MIXED);
		expect(gpu).toMatchObject({ gpu_model: "NVIDIA GeForce RTX 3090", gpu_count: 2, vram_gb: 24 });
		expect(gpu?.note).toContain("1 × NVIDIA GeForce GT 1030");
	});

	it("leaves memory unknown when nvidia-smi reports [N/A]", () => {
		expect(parseNvidiaSmi(GB10)).toMatchObject({ gpu_model: "NVIDIA GB10", gpu_count: 1, vram_gb: null });
	});

	it("finds no GPU in empty output", () => {
		expect(parseNvidiaSmi("")).toBeNull();
		expect(parseNvidiaSmi("\n\n")).toBeNull();
	});
});

describe("parseSystemProfiler", () => {
	it("reads the Apple silicon chip and counts the unified memory as VRAM", () => {
		expect(parseSystemProfiler(M2_MAX, 64)).toEqual({
			gpu_model: "Apple M2 Max",
			gpu_count: 1,
			vram_gb: 64,
			source: "system_profiler",
		});
	});

	it("offers no GPU on an Intel Mac", () => {
		expect(parseSystemProfiler(INTEL_MAC, 32)).toBeNull();
	});

	it("finds no GPU in output that is not the expected JSON", () => {
		expect(parseSystemProfiler("", 16)).toBeNull();
		expect(parseSystemProfiler("Graphics/Displays:\n  Apple M1:\n", 16)).toBeNull();
		expect(parseSystemProfiler('{"SPDisplaysDataType": {}}', 16)).toBeNull();
	});
});

describe("detectGpu", () => {
	it("asks system_profiler on macOS when nvidia-smi is missing", async () => {
		const asked: string[] = [];
		const run = async (cmd: string) => (asked.push(cmd), cmd === "system_profiler" ? M2_MAX : null);
		expect(await detectGpu(32, run, "darwin")).toMatchObject({ gpu_model: "Apple M2 Max", vram_gb: 32 });
		expect(asked).toEqual(["nvidia-smi", "system_profiler"]);
	});

	it("detects nothing on Linux without nvidia-smi", async () => {
		expect(await detectGpu(32, async () => null, "linux")).toBeNull();
	});
});

describe("resolveHardware", () => {
	const local = { cpu_cores: 16, ram_gb: 64 };

	it("fails without a detected GPU or --gpu-model, naming the flags to pass", () => {
		expect(() => resolveHardware(null, local, {})).toThrow(UsageError);
		expect(() => resolveHardware(null, local, {})).toThrow(/--gpu-model NAME --gpu-count N --vram-gb/);
	});

	it("lets flags override what was detected", () => {
		const gpu = parseNvidiaSmi(TWO_4090);
		expect(resolveHardware(gpu, local, { gpu_count: 1, cpu_cores: 8 })).toEqual({
			gpu_model: "NVIDIA GeForce RTX 4090",
			gpu_count: 1,
			vram_gb: 24,
			cpu_cores: 8,
			ram_gb: 64,
		});
	});

	it("takes nothing from detection when --gpu-model names another GPU", () => {
		const gpu = parseNvidiaSmi(TWO_4090);
		expect(() => resolveHardware(gpu, local, { gpu_model: "NVIDIA H100" })).toThrow(/--vram-gb/);
		expect(resolveHardware(gpu, local, { gpu_model: "NVIDIA H100", vram_gb: 80 })).toMatchObject({
			gpu_model: "NVIDIA H100",
			gpu_count: 1,
			vram_gb: 80,
		});
	});

	it("asks for --vram-gb when the detected GPU's memory is unknown", () => {
		expect(() => resolveHardware(parseNvidiaSmi(GB10), local, {})).toThrow(/pass --vram-gb/);
	});
});

describe("detectGpuUuids", () => {
	const U1 = "GPU-5a3b2c1d-0e0f-4a4b-8c8d-112233445566";
	const U2 = "GPU-00000000-1111-2222-3333-444444444444";

	it("reads nvidia-smi's UUID per GPU, sorted", async () => {
		const asked: string[][] = [];
		const run = async (cmd: string, args: string[]) => {
			asked.push([cmd, ...args]);
			return `${U1}\r\n${U2}\n`;
		};
		expect(await detectGpuUuids(run)).toEqual([U2, U1]);
		expect(asked).toEqual([["nvidia-smi", "--query-gpu=uuid", "--format=csv,noheader"]]);
	});

	it("reports none without nvidia-smi, or when its output is not a list of UUIDs", async () => {
		expect(await detectGpuUuids(async () => null)).toEqual([]);
		expect(await detectGpuUuids(async () => "No devices were found\n")).toEqual([]);
	});
});
