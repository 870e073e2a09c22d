// The one rule for text people type (workers/schemas.ts): what is refused, what passes, and that it passes unchanged.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { CreateAccount, CreditGrant, line, textProblem, userText } from "../../workers/schemas.ts";

/** Well-formed text without anything the rule refuses. */
const clean = fc
	.string({ unit: "grapheme", maxLength: 20 })
	.filter((s) => !/[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u.test(s));

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u));
const control = fc
	.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }))
	.map((c) => String.fromCharCode(c));
const bidi = fc.constantFrom("\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069");
const separator = fc.constantFrom("\u2028", "\u2029");
const hostile = fc.oneof(loneSurrogate, control, bidi, separator);

describe("textProblem", () => {
	it("refuses any text holding a lone surrogate, a control, a bidi control or a line separator", () => {
		fc.assert(
			fc.property(clean, hostile, clean, (a, bad, b) => {
				expect(textProblem(`${a}${bad}${b}`)).not.toBeNull();
			}),
		);
	});

	it("lets multi-line text keep newlines and tabs, and nothing else of those", () => {
		fc.assert(
			fc.property(clean, fc.constantFrom("\n", "\t"), clean, (a, keep, b) => {
				expect(textProblem(`${a}${keep}${b}`, true)).toBeNull();
				expect(textProblem(`${a}${keep}${b}`, false)).not.toBeNull();
			}),
		);
		expect(textProblem("a\rb", true)).toMatch(/control characters \(U\+000D at character 2/);
	});

	it("passes clean text, surrogate pairs and bidi marks", () => {
		fc.assert(
			fc.property(clean, (s) => {
				expect(textProblem(s)).toBeNull();
			}),
		);
		expect(textProblem("🚀 rig \u200F שלום \u061C")).toBeNull();
	});

	it("says which character and where", () => {
		expect(textProblem("ab\u202Ec")).toBe(
			"must not contain bidirectional override or isolate controls (U+202E at character 3)",
		);
		expect(textProblem("x\uD800")).toBe(
			"must be well-formed Unicode (a lone surrogate, U+D800 at character 2, cannot be stored)",
		);
	});
});

describe("schemas built on userText", () => {
	it("return clean text unchanged (names trimmed, memos untouched)", () => {
		fc.assert(
			fc.property(
				clean.filter((s) => s.trim().length > 0 && s.length <= 64),
				(s) => {
					expect(CreateAccount.parse({ name: s }).name).toBe(s.trim());
					expect(CreditGrant.parse({ account_id: "acc_x", amount_cents: 1, memo: s }).memo).toBe(s);
				},
			),
		);
	});

	it("refuse hostile text with an issue on the field's path", () => {
		fc.assert(
			fc.property(clean, hostile, (a, bad) => {
				const r = CreateAccount.safeParse({ name: `n${a}${bad}x` });
				expect(r.success).toBe(false);
				expect(r.error?.issues.some((i) => i.path.join(".") === "name")).toBe(true);
			}),
		);
	});

	it("turns CRLF into LF in multi-line text, before it is checked", () => {
		const body = userText(z.string().max(100), { multiline: true });
		expect(body.parse("one\r\ntwo\n\tthree")).toBe("one\ntwo\n\tthree");
		expect(line(10).safeParse("a\nb").success).toBe(false);
	});
});
