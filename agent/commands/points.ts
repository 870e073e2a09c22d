// `points`: this node's points in a settled epoch, and (--verify) a check of its row against the published root.
import { callApi } from "../api.ts";
import { defaultConfigPath, readConfig } from "../config.ts";
import { CliError, EXIT_USAGE, parseFlags } from "../errors.ts";
import { leafHash, verifyProof, type LeafRow, type ProofStep } from "../../workers/domain/merkle.ts";
import { CONFIG_FLAG, CONFIG_HELP, HELP_FLAG, say, type Command } from "./command.ts";

interface Breakdown {
	epoch: number;
	points: number;
	reward: number;
	points_after_adjustments: number;
	inputs: {
		online_seconds: number;
		incident_seconds: number;
		tier: string;
		gpu_count: number;
		challenges: { issued: number; passed: number; failed: number; missed: number };
	};
	terms: {
		credited_gpus: number;
		effective_weight: number;
		pass_ratio: number;
		availability_points: number;
		compute_points: number;
		penalty_points: number;
		penalties: { code: string; reason: string }[];
	};
	adjustments: { points: number; reason: string }[];
}

interface Proof {
	epoch: number;
	root: string;
	leaf: LeafRow;
	leaf_hash: string;
	proof: ProofStep[];
}

export const points: Command = {
	name: "points",
	summary: "Show this node's points in an epoch; --verify checks the row against the epoch's root",
	help: `Usage: pulsegrid-agent points [--epoch N] [--verify] [--json] [--config PATH]

Reads GET /v1/nodes/:id/points (default: the newest settled epoch). With --verify it also fetches
GET /v1/epochs/N (the published root) and GET /v1/epochs/N/proof/:id, recomputes the row's leaf hash and
the path to the root itself (docs/POINTS.md), and exits 1 if they do not match.

Options:
  --epoch N            Epoch number (default: the newest settled one)
  --verify             Check the row's Merkle proof against the published root
  --json               Print the coordinator's breakdown as JSON
${CONFIG_HELP}
  -h, --help           Show this help
`,
	async run(argv) {
		const { values } = parseFlags(argv, {
			options: {
				...CONFIG_FLAG,
				...HELP_FLAG,
				epoch: { type: "string" },
				verify: { type: "boolean" },
				json: { type: "boolean" },
			},
		});
		if (values.help) {
			say(this.help);
			return 0;
		}
		const epoch = values.epoch === undefined ? undefined : Number(values.epoch);
		if (epoch !== undefined && !(Number.isInteger(epoch) && epoch >= 1))
			throw new CliError("--epoch takes a whole number ≥ 1.", EXIT_USAGE);
		const config = await readConfig(values.config ?? defaultConfigPath());
		if (!config.node_id)
			throw new CliError("This node is not registered yet; run `pulsegrid-agent register --api-key KEY` first.");
		const id = encodeURIComponent(config.node_id);
		const b = await callApi<Breakdown>(
			config.coordinator_url,
			"GET",
			`/v1/nodes/${id}/points${epoch ? `?epoch=${epoch}` : ""}`,
		);
		if (values.json) say(JSON.stringify(b));
		else for (const line of formatBreakdown(b)) say(line);
		if (!values.verify) return 0;
		const published = await callApi<{ root: string | null }>(config.coordinator_url, "GET", `/v1/epochs/${b.epoch}`);
		const p = await callApi<Proof>(config.coordinator_url, "GET", `/v1/epochs/${b.epoch}/proof/${id}`);
		const result = await checkProof(p, published.root);
		say(result.ok ? `verified   row is in epoch ${b.epoch}'s root ${published.root}` : `NOT VERIFIED  ${result.why}`);
		return result.ok ? 0 : 1;
	},
};

/** Recomputes the leaf hash and the root path locally; the root comes from the epoch itself, not from the proof. */
export async function checkProof(
	p: Proof,
	publishedRoot: string | null,
): Promise<{ ok: true } | { ok: false; why: string }> {
	if (!publishedRoot) return { ok: false, why: "the epoch has no published root" };
	if ((await leafHash(p.leaf)) !== p.leaf_hash)
		return { ok: false, why: "the row does not hash to the leaf hash the coordinator gave" };
	if (!(await verifyProof(p.leaf, p.proof, publishedRoot)))
		return { ok: false, why: "the proof does not lead from this row to the published root" };
	return { ok: true };
}

export function formatBreakdown(b: Breakdown): string[] {
	const c = b.inputs.challenges;
	return [
		`epoch      ${b.epoch}`,
		`online     ${b.inputs.online_seconds} s (+ ${b.inputs.incident_seconds} s credited for coordinator incidents)`,
		`hardware   ${b.inputs.gpu_count} GPU(s), tier ${b.inputs.tier}; credited ${b.terms.credited_gpus} ` +
			`at weight ${b.terms.effective_weight}`,
		`challenges ${c.passed} passed, ${c.failed} failed, ` +
			`${c.missed} missed of ${c.issued} (pass ratio ${b.terms.pass_ratio.toFixed(3)})`,
		`terms      availability ${b.terms.availability_points} + compute ` +
			`${b.terms.compute_points} − penalty ${b.terms.penalty_points}`,
		...b.terms.penalties.map((p) => `penalty    ${p.code}: ${p.reason}`),
		`points     ${b.points}` +
			(b.adjustments.length
				? ` (${b.points_after_adjustments} after ${b.adjustments.length} staff adjustment(s))`
				: ""),
		...b.adjustments.map((a) => `adjusted   ${a.points > 0 ? "+" : ""}${a.points}: ${a.reason}`),
		`reward     ${(b.reward / 1e6).toFixed(6)} tokens`,
	];
}
