// Migrations on a database that already holds rows, as production's does: the worker tests start from an empty one,
// where a table rebuilt under a foreign key (0017) passes whatever order it drops things in. Each file runs in one
// transaction with foreign keys on, as D1 runs it.
import { readdirSync, readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";

const DIR = "schema/migrations";
const FILES = readdirSync(DIR)
	.filter((f) => /^\d{4}_.*\.sql$/.test(f))
	.sort();

function migrate(db: DatabaseSync, files: string[]): void {
	for (const f of files) {
		try {
			db.exec(`BEGIN;\n${readFileSync(`${DIR}/${f}`, "utf8")}\nCOMMIT;`);
		} catch (err) {
			db.exec("ROLLBACK;");
			throw new Error(`${f}: ${(err as Error).message}`);
		}
	}
}

/** Rows of the tables later migrations rebuild or extend, written as the code of their time wrote them. */
function seed(db: DatabaseSync): void {
	db.exec(`
		INSERT INTO accounts (id, name, api_key_hash, created_at) VALUES ('acc_1', 'operator', 'ab12', 1);
		INSERT INTO tickets (id, account_id, subject, node_id, status, opened_via, created_at, updated_at)
		  VALUES ('tkt_1', 'acc_1', 'fan', NULL, 'waiting_on_staff', 'api', 1, 2);
		INSERT INTO ticket_messages (ticket_id, author_role, author_account_id, author_name, via, body, created_at)
		  VALUES ('tkt_1', 'owner', 'acc_1', 'operator', 'api', 'loud', 1),
		         ('tkt_1', 'staff', NULL, 'mod', 'discord', 'on it', 2);
		INSERT INTO points_adjustments (id, epoch, node_id, points, reason, author, created_at)
		  VALUES ('adj_1', 1, 'node_1', 5, 'an outage', 'admin', 1);
		INSERT INTO audit_log (at, actor, action, target, details)
		  VALUES (1, 'admin', 'credits.grant', 'account:acc_1', '{}');
	`);
}

describe("migrations", () => {
	it("apply in order to a database holding rows, keeping every row and every foreign key", () => {
		const db = new DatabaseSync(":memory:");
		db.exec("PRAGMA foreign_keys = ON;");
		const first = FILES.findIndex((f) => f.startsWith("0014_"));
		expect(first).toBeGreaterThan(0);
		migrate(db, FILES.slice(0, first));
		seed(db);
		migrate(db, FILES.slice(first));
		expect(db.prepare("SELECT id, account_id, subject, status FROM tickets").all()).toEqual([
			{ id: "tkt_1", account_id: "acc_1", subject: "fan", status: "waiting_on_staff" },
		]);
		expect(db.prepare("SELECT id, ticket_id, body FROM ticket_messages ORDER BY id").all()).toEqual([
			{ id: 1, ticket_id: "tkt_1", body: "loud" },
			{ id: 2, ticket_id: "tkt_1", body: "on it" },
		]);
		// A rebuilt table still enforces its reference, and nothing points nowhere.
		expect(db.prepare("PRAGMA foreign_key_check").all()).toEqual([]);
		expect(() =>
			db.exec(`INSERT INTO ticket_messages (ticket_id, author_role, author_name, via, body, created_at)
				VALUES ('tkt_none', 'owner', 'x', 'telegram', 'y', 3)`),
		).toThrow(/FOREIGN KEY/);
		// Adjustments from before approvals need none; the account's key survives as a scoped key; the log knows whose.
		expect(db.prepare("SELECT needs_approval, approved_at FROM points_adjustments").all()).toEqual([
			{ needs_approval: null, approved_at: null },
		]);
		expect(db.prepare("SELECT name, scope, key_hash FROM api_keys WHERE account_id = 'acc_1'").all()).toEqual([
			{ name: "default", scope: "admin", key_hash: "ab12" },
		]);
		expect(db.prepare("SELECT account_id FROM audit_log").all()).toEqual([{ account_id: "acc_1" }]);
	});
});
