/**
 * Receptor node IDs in certificates: the subjectAltName otherName of type 1.3.6.1.4.1.2312.19.1
 * with value `[0] EXPLICIT UTF8String` (wire.md §13.3). Encodes correct DER for IDs of any length
 * (upstream's short-length bug is not copied) and decodes every otherName, DNS and IP entry.
 * @module
 */

import { children, decodeOid, DerError, encodeOid, parseOne, readTlv, TAG, tlv } from "./der.ts";
import { concatBytes } from "../util/bytes.ts";
import { errorText } from "../util/error_text.ts";

/** OID of the Receptor node-ID otherName. */
export const RECEPTOR_NODE_ID_OID = "1.3.6.1.4.1.2312.19.1";
/** OID of the subjectAltName extension. */
export const SUBJECT_ALT_NAME_OID = "2.5.29.17";

/** Thrown when a subjectAltName cannot be parsed. */
export class SanError extends Error {
  override name = "SanError";
}

/** Names carried in a subjectAltName, in extension order per kind. */
export interface SanNames {
  /** dNSName entries. */
  dnsNames: string[];
  /** iPAddress entries (4 or 16 bytes). */
  ipAddresses: Uint8Array[];
  /** Receptor node IDs (otherName 1.3.6.1.4.1.2312.19.1). */
  nodeIds: string[];
}

const utf8 = new TextEncoder();

/** Encode one GeneralName `otherName` (context tag [0], constructed) holding a node ID. */
export function encodeNodeIdOtherName(nodeId: string): Uint8Array {
  return tlv(
    0xa0,
    encodeOid(RECEPTOR_NODE_ID_OID),
    tlv(0xa0, tlv(TAG.UTF8_STRING, utf8.encode(nodeId))),
  );
}

/**
 * Encode a subjectAltName extension value (GeneralNames) listing, in this order, every DNS name,
 * every IP address (4 or 16 bytes) and every node ID, as receptor's `cert-makereq` does. The
 * result is present (an empty SEQUENCE) even when all lists are empty.
 */
export function encodeReceptorSan(names: Partial<SanNames>): Uint8Array {
  const items: Uint8Array[] = [];
  for (const d of names.dnsNames ?? []) items.push(tlv(0x82, utf8.encode(d)));
  for (const ip of names.ipAddresses ?? []) {
    if (ip.length !== 4 && ip.length !== 16) {
      throw new SanError(`invalid IP address length ${ip.length}`);
    }
    items.push(tlv(0x87, ip));
  }
  for (const n of names.nodeIds ?? []) items.push(encodeNodeIdOtherName(n));
  return tlv(TAG.SEQUENCE, concatBytes(...items));
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Decode an ASN.1 character string element the way Go's `asn1.Unmarshal(..., &string)` accepts. */
function decodeAsn1String(tag: number, content: Uint8Array): string {
  switch (tag) {
    case TAG.UTF8_STRING:
      try {
        return strictUtf8.decode(content);
      } catch {
        throw new SanError("asn1: syntax error: invalid UTF-8 string");
      }
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.NUMERIC_STRING: {
      for (const b of content) {
        if (b > 0x7f) throw new SanError("asn1: syntax error: invalid character in string");
      }
      return String.fromCharCode(...content);
    }
    case TAG.T61_STRING:
      return String.fromCharCode(...content);
    case TAG.BMP_STRING: {
      if (content.length % 2) throw new SanError("asn1: syntax error: invalid BMPString");
      let s = "";
      for (let i = 0; i < content.length; i += 2) {
        s += String.fromCharCode((content[i] << 8) | content[i + 1]);
      }
      return s;
    }
    default:
      throw new SanError(
        `asn1: structure error: tags don't match (string, got tag 0x${tag.toString(16)})`,
      );
  }
}

/**
 * Decode the content of an otherName GeneralName. Returns the node ID when the type-id is the
 * Receptor OID, or null for other otherName types. Throws {@link SanError} if malformed.
 */
export function decodeOtherNameNodeId(content: Uint8Array): string | null {
  try {
    const kids = children(content, "otherName");
    if (kids.length !== 2 || kids[0].tag !== TAG.OID) {
      throw new SanError("malformed otherName: expected type-id and value");
    }
    if (decodeOid(kids[0].content) !== RECEPTOR_NODE_ID_OID) return null;
    if (kids[1].tag !== 0xa0) throw new SanError("malformed otherName: value is not [0] EXPLICIT");
    const inner = parseOne(kids[1].content, "otherName value");
    return decodeAsn1String(inner.tag, inner.content);
  } catch (e) {
    if (e instanceof DerError) throw new SanError(`malformed otherName: ${e.message}`);
    throw e;
  }
}

/** Decode a subjectAltName extension value into DNS names, IP addresses and node IDs. */
export function decodeSubjectAltName(value: Uint8Array): SanNames {
  const out: SanNames = { dnsNames: [], ipAddresses: [], nodeIds: [] };
  let seqEl;
  try {
    seqEl = parseOne(value, "subjectAltName", TAG.SEQUENCE);
  } catch (e) {
    throw new SanError(`malformed subjectAltName: ${errorText(e)}`);
  }
  let off = 0;
  while (off < seqEl.content.length) {
    let t;
    try {
      t = readTlv(seqEl.content, off, "subjectAltName entry");
    } catch (e) {
      throw new SanError(`malformed subjectAltName: ${errorText(e)}`);
    }
    off = t.end;
    const num = t.tag & 0x1f;
    if ((t.tag & 0xc0) !== 0x80) continue; // not context-specific: not a GeneralName we know
    if (num === 0) {
      const id = decodeOtherNameNodeId(t.content);
      if (id !== null) out.nodeIds.push(id);
    } else if (num === 2) {
      out.dnsNames.push(String.fromCharCode(...t.content));
    } else if (num === 7) {
      if (t.content.length !== 4 && t.content.length !== 16) {
        throw new SanError(`x509: cannot parse IP address of length ${t.content.length}`);
      }
      out.ipAddresses.push(t.content.slice());
    }
  }
  return out;
}

/** Merge names from every subjectAltName extension in `extensions` (normally there is one). */
export function sanNamesFromExtensions(
  extensions: readonly { oid: string; value: Uint8Array }[],
): SanNames {
  const out: SanNames = { dnsNames: [], ipAddresses: [], nodeIds: [] };
  for (const ext of extensions) {
    if (ext.oid !== SUBJECT_ALT_NAME_OID) continue;
    const n = decodeSubjectAltName(ext.value);
    out.dnsNames.push(...n.dnsNames);
    out.ipAddresses.push(...n.ipAddresses);
    out.nodeIds.push(...n.nodeIds);
  }
  return out;
}
