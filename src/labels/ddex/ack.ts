/**
 * A DDEX-style acknowledgement written beside each message (ACK_<message file>): the message id,
 * whether it was accepted, each release's status, and for a refusal the reason in words. Built by
 * fast-xml-parser's builder, which escapes every text value.
 */
import { XMLBuilder } from 'fast-xml-parser';

export interface ReleaseOutcome {
  reference: string;
  icpn: string | null;
  status: string;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: true, processEntities: true });

export function acknowledgementXml(
  outcome: { messageId: string | null; file: string; status: string; reason: string | null; releases: ReleaseOutcome[] },
  at: Date,
): string {
  const body = {
    '?xml': { '@version': '1.0', '@encoding': 'UTF-8' },
    Acknowledgement: {
      MessageHeader: { MessageCreatedDateTime: at.toISOString() },
      AcknowledgedMessage: { MessageId: outcome.messageId ?? '', FileName: outcome.file },
      MessageStatus: outcome.status === 'refused' ? 'FileRejected' : outcome.status === 'unchanged' ? 'FileOK-NoChange' : 'FileOK',
      ...(outcome.reason ? { ErrorText: outcome.reason } : {}),
      ReleaseStatus: outcome.releases.map((r) => ({ ReleaseReference: r.reference, ICPN: r.icpn ?? '', Status: r.status })),
    },
  };
  return builder.build(body);
}
