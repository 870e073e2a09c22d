// Request schemas: strict (unknown fields refused), bounded, validated at the edge before anything runs.
import { z } from "zod";
import { SKUS, skuByName } from "./domain/pricing.ts";
import { MAX_GPUS_PER_NODE } from "./domain/verification.ts";

// --- User text: every field a person types (names, models, reasons, memos, ticket subjects and bodies) ---

/** Bidi embeddings, overrides and isolates: they reorder the text around them when shown ("Trojan Source"). */
const BIDI_CONTROLS = new Set([0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]);

const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * Why `s` may not be stored as user text, or null when it may. Refused: lone UTF-16 surrogates (D1 cannot store them
 * exactly: they come back as U+FFFD), control characters (C0, DEL, C1; `multiline` text keeps newline and tab), the
 * line and paragraph separators U+2028/U+2029, and bidi embedding, override and isolate controls
 * (U+202A–U+202E, U+2066–U+2069). The bidi marks (U+200E, U+200F, U+061C) stay allowed: they reorder nothing, and
 * right-to-left names use them. Everything allowed is stored and shown back byte for byte.
 */
export function textProblem(s: string, multiline = false): string | null {
	for (let i = 0; i < s.length; ) {
		const cp = s.codePointAt(i) as number;
		const at = `${hex(cp)} at character ${i + 1}`;
		if (cp >= 0xd800 && cp <= 0xdfff) return `must be well-formed Unicode (a lone surrogate, ${at}, cannot be stored)`;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			if (!(multiline && (cp === 0x0a || cp === 0x09)))
				return `must not contain control characters (${at}${multiline ? "; newline and tab are fine" : ""})`;
		}
		if (cp === 0x2028 || cp === 0x2029) return `must not contain line or paragraph separators (${at})`;
		if (BIDI_CONTROLS.has(cp)) return `must not contain bidirectional override or isolate controls (${at})`;
		i += cp > 0xffff ? 2 : 1;
	}
	return null;
}

/**
 * `schema` refusing what {@link textProblem} refuses, with a 400 that names the field. `multiline` text keeps newlines
 * and tabs, and a CRLF becomes LF (after the checks already on `schema`, before this one and before anything is
 * stored).
 */
export function userText(schema: z.ZodString, { multiline = false } = {}): z.ZodString {
	const base = multiline ? schema.overwrite((s) => s.replaceAll("\r\n", "\n")) : schema;
	return base.check((ctx) => {
		const problem = textProblem(ctx.value, multiline);
		if (problem) ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
	});
}

/** One line of user text, trimmed: 1 to `max` characters. */
export const line = (max: number) => userText(z.string().trim().min(1).max(max));

const name = line(64);

export const CreateAccount = z.object({ name }).strict();

/** A raw 32-byte Ed25519 public key in base64url is exactly 43 characters without padding. */
export const PublicKey = z
	.string()
	.regex(/^[A-Za-z0-9_-]{43}$/, "must be a raw 32-byte Ed25519 public key, base64url without padding (43 characters)");

export const Hardware = z
	.object({
		gpu_model: line(64),
		gpu_count: z.number().int().min(1).max(MAX_GPUS_PER_NODE),
		vram_gb: z.number().positive().max(1024),
		cpu_cores: z.number().int().min(1).max(1024),
		ram_gb: z.number().positive().max(65536),
	})
	.strict();

export const Region = z.string().regex(/^[a-z0-9][a-z0-9-]{1,31}$/, "must be 2–32 lowercase letters, digits or dashes");

export const CreateNode = z
	.object({ name, public_key: PublicKey, hardware: Hardware, region: Region.optional() })
	.strict();

export const PatchNode = z
	.object({ name: name.optional(), maintenance: z.boolean().optional() })
	.strict()
	.refine((v) => v.name !== undefined || v.maintenance !== undefined, "send at least one of 'name' or 'maintenance'");

export const Heartbeat = z
	.object({
		answers: z
			.array(z.object({ id: z.string().max(64), answer: z.string().max(256) }).strict())
			.max(4)
			.optional(),
		/** The agent is shutting down: the node goes offline now instead of after OFFLINE_AFTER_S. */
		bye: z.literal(true).optional(),
	})
	.strict();

const isoTime = z
	.string()
	.datetime({ offset: true })
	.transform((s) => Date.parse(s));

export const UptimeQuery = z.object({ from: isoTime.optional(), to: isoTime.optional() }).strict();

export const FlipsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).optional() }).strict();

export const EpochParam = z.coerce.number().int().min(1).max(1e9);

export const PointsQuery = z.object({ epoch: EpochParam.optional() }).strict();

export const LeaderboardQuery = z
	.object({ epoch: EpochParam.optional(), window: z.enum(["7d"]).optional() })
	.strict()
	.refine((q) => !(q.epoch && q.window), "send either 'epoch' or 'window', not both");

const reason = userText(z.string().trim().min(5, "say why, in at least 5 characters").max(500));

export const Adjustment = z
	.object({
		node_id: z.string().max(64),
		epoch: z.number().int().min(1),
		points: z
			.number()
			.int()
			.min(-1e9)
			.max(1e9)
			.refine((p) => p !== 0, "must not be 0"),
		reason,
	})
	.strict();

export const NewFlag = z
	.object({
		node_id: z.string().max(64),
		code: z.string().regex(/^[a-z][a-z0-9_]{2,40}$/, "must be snake_case, 3–41 characters"),
		reason,
		share: z.number().gt(0).max(1),
		/** What the flag rests on, shown to the node's owner (never publicly): at most 4 KB of JSON. */
		evidence: z
			.record(z.string(), z.unknown())
			.refine((e) => JSON.stringify(e).length <= 4096, "evidence is at most 4,096 characters of JSON")
			.optional(),
	})
	.strict();

export const RoleChange = z.object({ role: z.enum(["user", "staff"]) }).strict();

const knownModel = line(64).refine((m) => skuByName(m) !== null, {
	message: `must be one of: ${SKUS.map((s) => s.name).join(", ")}`,
});

export const QuoteRequest = z
	.object({ gpu_model: knownModel, gpu_count: z.number().int().min(1).max(4096), hours: z.number().min(0.01).max(720) })
	.strict();

export const CreateCluster = z
	.object({
		gpu_model: knownModel,
		gpu_count: z.number().int().min(1).max(4096),
		hours: z.number().min(0.01).max(720),
		region: Region.optional(),
		/** In US dollars per GPU-hour. */
		max_price_per_gpu_hour: z.number().positive().max(1000).optional(),
	})
	.strict();

export const IdempotencyKey = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, "must be 1–64 letters, digits or _ . : -");

export const CreditGrant = z
	.object({
		account_id: z.string().max(64),
		amount_cents: z.number().int().min(1).max(1e9),
		memo: userText(z.string().max(200)).optional(),
	})
	.strict();
