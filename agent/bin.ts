#!/usr/bin/env node
// The pulsegrid-agent executable (Node ≥ 22.18 runs this TypeScript directly): runs the CLI and exits with its code.
import { main } from "./cli.ts";

const code = await main(process.argv.slice(2));
// Flush stdout (it may be a pipe read by a test) before exiting; lingering keep-alive sockets must not hold the
// process.
process.stdout.write("", () => process.exit(code));
