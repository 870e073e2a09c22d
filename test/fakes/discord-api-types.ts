// What the fake Discord API records, shared by Node-side tests and tests running inside workerd (no Node imports here).

/** A bot post to a channel (POST /channels/:id/messages). */
export interface ChannelPost {
	id: string;
	channel_id: string;
	authorization: string | null;
	content: string;
	nonce: string | null;
	enforce_nonce: boolean;
	allowed_mentions: unknown;
}

/** A follow-up replacing a deferred answer (PATCH /webhooks/:app/:token/messages/@original). */
export interface OriginalEdit {
	application_id: string;
	token: string;
	content: string;
	allowed_mentions: unknown;
}

/** A bulk overwrite of the application's commands (PUT /applications/:app[/guilds/:guild]/commands). */
export interface Registration {
	application_id: string;
	guild_id: string | null;
	authorization: string | null;
	commands: unknown[];
}

export interface DiscordFakeState {
	posts: ChannelPost[];
	edits: OriginalEdit[];
	registrations: Registration[];
	/** Requests answered with an injected failure, in order. */
	refused: { path: string; status: number; content: string }[];
	/** DM channels the bot opened (POST /users/@me/channels), one per user. */
	dm_channels: { recipient_id: string; channel_id: string }[];
}

/**
 * The next `times` posts whose content contains `contains` (or edits for that interaction token) fail with `status`.
 */
export interface Fault {
	contains: string;
	times: number;
	status: number;
	retry_after?: number;
}
