// An operator's alert settings as pure data: the defaults, Discord webhook URLs, and applying a patch.
import type { AlertSettings, DiscordWebhook, SettingsPatch } from "../contracts.ts";
import { failed, type Result } from "../failure.ts";

export const DEFAULT_ALERT_SETTINGS: AlertSettings = {
	alerts: true,
	digest: false,
	digest_hour_utc: 8,
	discord_webhook: null,
};

/** Only Discord's own webhook URLs are accepted: https://discord.com/api/webhooks/<id>/<token>. */
const WEBHOOK_URL =
	/^https:\/\/(?:canary\.|ptb\.)?discord(?:app)?\.com\/api(?:\/v\d+)?\/webhooks\/(\d{5,25})\/([\w-]{20,100})\/?$/;

export function parseDiscordWebhook(url: string): DiscordWebhook | null {
	const m = WEBHOOK_URL.exec(url.trim());
	return m ? { id: m[1] as string, token: m[2] as string } : null;
}

/** The URL an operator sees: the id, never the token. */
export function maskedWebhook(w: DiscordWebhook): string {
	return `https://discord.com/api/webhooks/${w.id}/…`;
}

/** Applies a patch to settings, refused whole if any part is invalid; the Discord URL must be one of Discord's own. */
export function applyPatch(current: AlertSettings, p: SettingsPatch): Result<AlertSettings> {
	const next: AlertSettings = { ...current };
	if (p.alerts !== undefined) next.alerts = p.alerts;
	if (p.digest !== undefined) next.digest = p.digest;
	if (p.digest_hour_utc !== undefined) next.digest_hour_utc = p.digest_hour_utc;
	if (p.discord_webhook_url === null) next.discord_webhook = null;
	else if (p.discord_webhook_url !== undefined) {
		const hook = parseDiscordWebhook(p.discord_webhook_url);
		if (!hook) {
			return failed(
				400,
				"validation_failed",
				"discord_webhook_url must be a Discord webhook URL: https://discord.com/api/webhooks/<id>/<token>",
			);
		}
		next.discord_webhook = hook;
	}
	return { ok: true, value: next };
}
