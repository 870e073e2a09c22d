// What a user is told when a command fails, in either bot: a refusal they can act on is its own answer; anything else
// is logged.
import { ApiError } from "../../workers/http.ts";

export const GENERIC_FAILURE = "Something went wrong on our side; it has been logged. Try again in a moment.";

export function failureAnswer(err: unknown, where: string): string {
	if (err instanceof ApiError) return err.message;
	console.error(`${where} failed`, err);
	return GENERIC_FAILURE;
}

/**
 * The answer of `work`, or its refusal's words with something added (e.g. the command's usage); other errors pass on.
 */
export async function orRefusal(work: () => Promise<string>, refusal: (message: string) => string): Promise<string> {
	try {
		return await work();
	} catch (err) {
		if (err instanceof ApiError) return refusal(err.message);
		throw err;
	}
}
