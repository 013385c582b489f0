/**
 * SMS through Twilio's Messages API (2010-04-01): POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json
 * with To, From and Body form-encoded, HTTP Basic auth with the account SID and auth token. In the
 * demo and the tests the base URL is the local stand-in (sandbox/twilio), which speaks the
 * same protocol.
 */
import type { TwilioSettings } from '../config.js';
import { SendError, type OutgoingSms, type SmsSender } from './senders.js';

export type { TwilioSettings } from '../config.js';

export const DEFAULT_SMS_TIMEOUT_MS = 15_000;

export interface TwilioSenderOptions extends TwilioSettings {
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Twilio's error body: { code, message, more_info, status }. */
interface TwilioError {
  code?: number;
  status?: number;
}

export function createTwilioSmsSender({
  apiBase,
  accountSid,
  authToken,
  from,
  timeoutMs = DEFAULT_SMS_TIMEOUT_MS,
  fetch: fetchImpl = fetch,
}: TwilioSenderOptions): SmsSender {
  const url = `${apiBase.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  return {
    kind: 'twilio',
    async send(message: OutgoingSms) {
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ To: message.to, From: from, Body: message.text }).toString(),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        // No answer: the gateway may or may not have the message; retrying is the only safe course.
        const name = (error as Error)?.name;
        throw new SendError(
          name === 'TimeoutError' ? `Twilio: no answer within ${timeoutMs} ms` : `Twilio: ${(error as Error)?.message ?? 'network error'}`,
          false,
        );
      }
      if (response.ok) {
        await response.body?.cancel();
        return;
      }
      const detail = (await response.json().catch(() => ({}))) as TwilioError;
      // Only the status and Twilio's error code are kept: its messages can quote the number.
      const text = `Twilio HTTP ${response.status}${typeof detail.code === 'number' ? ` error ${detail.code}` : ''}`;
      const retry = response.status === 429 || response.status >= 500 || response.status < 400;
      throw new SendError(text, !retry);
    },
    close() {},
  };
}
