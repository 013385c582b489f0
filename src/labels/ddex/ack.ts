/**
 * The acknowledgement written beside each message (ACK_<message file>), shaped as the
 * AcknowledgementMessage of the DDEX ERN choreography for cloud-based storage (ern-c-sftp 1.8,
 * the choreography of ERN 4.x; docs/labels.md says which copy of the schema it was checked
 * against): a MessageHeader from the store to the message's sender, then one ReleaseStatus per
 * release with its SupplyChainStatus, the reason in words (ErrorText) and an Acknowledgement of
 * the message with its file status (FileOK, ResourceMissing, ...). Built by fast-xml-parser's
 * builder, which escapes every text value.
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { FileStatus } from './ern.js';

export const ACK_NAMESPACE = 'http://ddex.net/xml/ern-c-sftp/18';

export interface ReleaseOutcome {
  reference: string;
  icpn: string | null;
  status: string;
}

export interface AcknowledgedMessage {
  /** The batch folder the message came in (BatchId). */
  batch: string;
  messageId: string | null;
  kind: 'NewReleaseMessage' | 'PurgeReleaseMessage' | null;
  /** MessageRecipient of the message (the store, as the sender knows it) and its MessageSender. */
  storePartyId: string | null;
  senderPartyId: string | null;
  status: 'accepted' | 'refused' | 'unchanged';
  reason: string | null;
  fileStatus: FileStatus;
  /** For a refusal over one sound recording's file: its ISRC (AffectedResource). */
  affectedIsrc: string | null;
  releases: ReleaseOutcome[];
  /** For a refusal: the ICPNs the message named, so each gets its ReleaseStatus. */
  namedIcpns: string[];
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', format: true, processEntities: true });

export function acknowledgementXml(message: AcknowledgedMessage, at: Date): string {
  const refused = message.status === 'refused';
  const acknowledgement = {
    MessageType: message.kind ?? 'NewReleaseMessage',
    BatchId: message.batch,
    MessageId: message.messageId ?? '',
    MessageStatus: { Status: refused ? message.fileStatus : 'FileOK', ...(message.reason ? { Information: message.reason } : {}) },
  };
  const statusOf = (icpn: string | null, words: string) => ({
    ReleaseId: icpn ? { ICPN: icpn } : '',
    ReleaseStatus: refused
      ? 'ProcessingErrorAtReleaseDistributor'
      : /taken down|no longer|not on sale/.test(words)
        ? 'ReleaseNotAvailable'
        : 'SuccessfullyIngestedByReleaseDistributor',
    ...(refused || words !== 'on sale' ? { ErrorText: refused ? (message.reason ?? '') : words } : {}),
    ...(refused ? { ProposedActionType: message.fileStatus === 'ResourceMissing' ? 'ResendXmlAndResources' : 'ResendXmlOnly' } : {}),
    ...(refused && message.affectedIsrc ? { AffectedResource: { ISRC: message.affectedIsrc } } : {}),
    Acknowledgement: acknowledgement,
  });
  const releases = refused
    ? (message.namedIcpns.length ? message.namedIcpns : [null]).map((icpn) => statusOf(icpn, ''))
    : message.releases.length
      ? message.releases.map((r) => statusOf(r.icpn, r.status))
      : [statusOf(null, message.reason ?? 'on sale')];
  return builder.build({
    '?xml': { '@version': '1.0', '@encoding': 'UTF-8' },
    'ern-c-sftp:AcknowledgementMessage': {
      '@xmlns:ern-c-sftp': ACK_NAMESPACE,
      '@AvsVersionId': '4',
      MessageHeader: {
        MessageId: `ACK-${message.messageId ?? 'unknown'}`,
        MessageSender: { PartyId: message.storePartyId ?? '' },
        MessageRecipient: { PartyId: message.senderPartyId ?? '' },
        MessageCreatedDateTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
      ReleaseStatus: releases,
    },
  });
}
