// Checks on the shape of the code itself: no import cycles, D1 only in workers/db, the objects' clock only in the kit,
// a README layout table that matches the tree, and no source line wider than the formatter's. The code checks read
// the source files with TypeScript's parser, not regexes.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SKIPPED_DIRS = new Set(["node_modules", ".state", ".wrangler"]);
/** biome.json's lineWidth. The formatter cannot break a long string or comment, so this test catches those. */
const MAX_LINE = 120;

/** Repo-relative, slash-separated. */
function rel(abs: string): string {
	return relative(ROOT, abs).split(sep).join("/");
}

/** Every `.ts` source file (not `.d.ts`) under the given top-level folders, as repo-relative paths. */
function sourceFiles(folders: string[]): string[] {
	const out: string[] = [];
	const walk = (dir: string): void => {
		for (const entry of readdirSync(dir, { withFileTypes: true })) {
			if (entry.name.startsWith(".") || SKIPPED_DIRS.has(entry.name)) continue;
			const abs = join(dir, entry.name);
			if (entry.isDirectory()) walk(abs);
			else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(rel(abs));
		}
	};
	for (const folder of folders) if (existsSync(join(ROOT, folder))) walk(join(ROOT, folder));
	return out.sort();
}

function parse(file: string): ts.SourceFile {
	return ts.createSourceFile(file, readFileSync(join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);
}

function visit(node: ts.Node, fn: (node: ts.Node) => void): void {
	fn(node);
	ts.forEachChild(node, (child) => visit(child, fn));
}

function lineOf(source: ts.SourceFile, node: ts.Node): number {
	return source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
}

/**
 * The module specifiers a file names: `import … from`, `import type`, `export … from`, `import("…")` in types and
 * code.
 */
function specifiers(source: ts.SourceFile): string[] {
	const out: string[] = [];
	visit(source, (node) => {
		if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
			if (ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
		} else if (ts.isImportTypeNode(node)) {
			const arg = node.argument;
			if (ts.isLiteralTypeNode(arg) && ts.isStringLiteral(arg.literal)) out.push(arg.literal.text);
		} else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
			const [arg] = node.arguments;
			if (arg && ts.isStringLiteralLike(arg)) out.push(arg.text);
		}
	});
	return out;
}

/** A relative specifier resolved to a project file, or null (packages, `node:` modules, files outside the set). */
function resolveImport(from: string, specifier: string, files: Set<string>): string | null {
	if (!specifier.startsWith(".")) return null;
	const base = posix.normalize(posix.join(posix.dirname(from), specifier));
	const candidates = [base, base.replace(/\.js$/, ".ts"), `${base}.ts`, `${base}/index.ts`];
	return candidates.find((c) => files.has(c)) ?? null;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const onStack = new Set<string>();
	const stack: string[] = [];
	const found: string[][] = [];
	let next = 0;
	const connect = (v: string): void => {
		index.set(v, next);
		low.set(v, next);
		next++;
		stack.push(v);
		onStack.add(v);
		for (const w of graph.get(v) ?? []) {
			if (!index.has(w)) {
				connect(w);
				low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
			} else if (onStack.has(w)) {
				low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
			}
		}
		if (low.get(v) === index.get(v)) {
			const component: string[] = [];
			let w: string;
			do {
				w = stack.pop() as string;
				onStack.delete(w);
				component.push(w);
			} while (w !== v);
			if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
		}
	};
	for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
	return found;
}

/** One concrete loop inside a component, as `a → b → … → a` (shortest path back to its first file). */
function loopThrough(component: string[], graph: Map<string, string[]>): string {
	const members = new Set(component);
	const start = component[0] as string;
	const previous = new Map<string, string>();
	const queue = [start];
	while (queue.length > 0) {
		const v = queue.shift() as string;
		for (const w of graph.get(v) ?? []) {
			if (!members.has(w)) continue;
			if (w === start) {
				const chain = [start];
				for (let at = v; at !== start; at = previous.get(at) as string) chain.unshift(at);
				chain.unshift(start);
				return chain.join(" → ");
			}
			if (!previous.has(w)) {
				previous.set(w, v);
				queue.push(w);
			}
		}
	}
	return component.join(", ");
}

describe("repository structure", () => {
	it("has no import cycle", () => {
		const files = sourceFiles(["workers", "durable-objects", "bots", "agent", "bench", "scripts", "test"]);
		const set = new Set(files);
		const graph = new Map<string, string[]>();
		for (const file of files) {
			const targets = specifiers(parse(file))
				.map((s) => resolveImport(file, s, set))
				.filter((t): t is string => t !== null);
			graph.set(file, [...new Set(targets)].sort());
		}
		const found = cycles(graph).map(
			(component) =>
				`${loopThrough(component, graph)}` +
				`${component.length > 2 ? `  (${component.length} files in the cycle: ${component.join(", ")})` : ""}`,
		);
		expect(found, `import cycles:\n${found.join("\n")}`).toEqual([]);
	});

	it("keeps every D1 statement in workers/db", () => {
		const hits: string[] = [];
		for (const file of sourceFiles(["workers", "durable-objects", "bots", "scripts"])) {
			if (file.startsWith("workers/db/")) continue;
			const source = parse(file);
			visit(source, (node) => {
				const d1Call =
					ts.isCallExpression(node) &&
					ts.isPropertyAccessExpression(node.expression) &&
					(node.expression.name.text === "prepare" || node.expression.name.text === "batch");
				const d1Type = ts.isIdentifier(node) && node.text === "D1PreparedStatement";
				if (d1Call || d1Type) {
					const text = node.getText(source).split("\n")[0] as string;
					hits.push(`${file}:${lineOf(source, node)}: ${text.slice(0, 100)}`);
				}
			});
		}
		expect(hits, `D1 statements outside workers/db:\n${hits.join("\n")}`).toEqual([]);
	});

	it("reads the clock in durable-objects only through the kit", () => {
		const hits: string[] = [];
		for (const file of sourceFiles(["durable-objects"])) {
			if (file === "durable-objects/kit.ts") continue;
			const source = parse(file);
			visit(source, (node) => {
				const dateNow =
					ts.isCallExpression(node) &&
					ts.isPropertyAccessExpression(node.expression) &&
					ts.isIdentifier(node.expression.expression) &&
					node.expression.expression.text === "Date" &&
					node.expression.name.text === "now";
				const newDate =
					ts.isNewExpression(node) &&
					ts.isIdentifier(node.expression) &&
					node.expression.text === "Date" &&
					(node.arguments?.length ?? 0) === 0;
				if (dateNow || newDate) hits.push(`${file}:${lineOf(source, node)}: ${node.getText(source)}`);
			});
		}
		expect(hits, `clock reads outside durable-objects/kit.ts:\n${hits.join("\n")}`).toEqual([]);
	});

	it("lists every top-level folder and module in the README layout table", () => {
		const readme = readFileSync(join(ROOT, "README.md"), "utf8");
		const section = readme.split(/^## Layout\s*$/m)[1]?.split(/^## /m)[0] ?? "";
		// The first cell of each row names one or more paths; a bare name after the first (`http.ts`) sits in its folder.
		const rows: string[] = [];
		for (const line of section.split("\n")) {
			if (!line.startsWith("|") || /^\|\s*-/.test(line)) continue;
			const cell = line.split("|")[1] ?? "";
			let folder = "";
			for (const [, name] of cell.matchAll(/`([^`]+)`/g)) {
				const path = name as string;
				const full = path.includes("/") ? path : `${folder}${path}`;
				folder = full.endsWith("/") ? full : full.slice(0, full.lastIndexOf("/") + 1);
				rows.push(full);
			}
		}
		expect(rows.length, "README has a `## Layout` table").toBeGreaterThan(0);

		const globToRegExp = (glob: string): RegExp =>
			new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);
		const matches = (row: string, path: string): boolean => {
			const bare = row.replace(/\/$/, "");
			if (row.includes("*")) return globToRegExp(row).test(path);
			return path === bare || path.startsWith(`${bare}/`);
		};
		const existing = (row: string): boolean => {
			if (!row.includes("*")) return existsSync(join(ROOT, row));
			const dir = row.slice(0, row.lastIndexOf("/"));
			return existsSync(join(ROOT, dir)) && readdirSync(join(ROOT, dir)).some((f) => matches(row, `${dir}/${f}`));
		};
		const missingOnDisk = rows.filter((row) => !existing(row));

		const list = (dir: string, kind: "dir" | "file"): string[] =>
			readdirSync(join(ROOT, dir))
				.filter((name) => !name.startsWith(".") && !SKIPPED_DIRS.has(name))
				.filter((name) => statSync(join(ROOT, dir, name)).isDirectory() === (kind === "dir"))
				.map((name) => (dir === "." ? name : `${dir}/${name}`));
		const mustBeListed = [
			...list(".", "dir"),
			...list("workers", "dir"),
			...list("workers", "file"),
			...list("durable-objects", "file"),
		];
		// A top-level folder counts as listed when a row names it or something inside it.
		const listed = (path: string): boolean =>
			rows.some((row) => matches(row, path) || (!path.includes("/") && row.startsWith(`${path}/`)));
		const unlisted = mustBeListed.filter((path) => !listed(path));

		expect(
			{ missingOnDisk, unlisted },
			`README layout rows naming nothing on disk: ${missingOnDisk.join(", ") || "none"}; ` +
				`paths no row covers: ${unlisted.join(", ") || "none"}`,
		).toEqual({ missingOnDisk: [], unlisted: [] });
	});

	it("keeps every source line within 120 columns", () => {
		// Every `.ts` file of the repository (a tab counts as one character; `.d.ts` files are generated or declarations).
		const long: string[] = [];
		for (const file of sourceFiles(["."])) {
			const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
			lines.forEach((line, i) => {
				const length = [...line].length;
				if (length > MAX_LINE) long.push(`${file}:${i + 1} (${length})`);
			});
		}
		expect(long, `lines longer than ${MAX_LINE} characters:\n${long.join("\n")}`).toEqual([]);
	});
});
