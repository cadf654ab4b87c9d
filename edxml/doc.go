// Package edxml reads and writes the document packages and status
// messages of QCVN 102:2016/BTTTT ("edXML"), the format Vietnam's e-office
// products exchange through provincial gateways (LGSP) and the national
// axis (VDXP), and converts them to and from the hub's envelope + files.
//
// Read is tolerant and streaming: it walks the XML token by token with
// encoding/xml (no document tree), takes the byte stream over for each
// attachment's base64 content and decodes it straight into a writer the
// caller gives (the outbox file), so a 100 MB package needs no more memory
// than a small one. It is hardened: a DOCTYPE or entity declaration is
// refused (so is any entity but the five predefined ones), as are nesting
// deeper than Limits.MaxDepth, a tag or element text over Limits.MaxText
// and a package over Limits.MaxTotal; every refusal names the element and
// the line. Write is strict: it emits the standard namespace and the
// standard element order, and streams base64 out.
//
// # What the public texts say, and where they disagree
//
//   - Namespace: the standard's is http://www.mic.gov.vn/TBT/QCVN_102_2016
//     (prefix edXML). Builds made before the standard used
//     http://www.go.vn/eDoc and http://www.e-doc.vn/Schema/; Read accepts
//     them and sets Package.Legacy, Write always writes the standard one.
//   - Root: the national axis SDK's sample (PVN-Organization/API-Gateway-iOffice,
//     edoc_new.edxml) wraps edXMLEnvelope and AttachmentEncoded in a root
//     <edXML>; other builds make edXMLEnvelope the root and put
//     AttachmentEncoded inside edXMLBody. Read accepts both; Write writes
//     the SDK's shape.
//   - Signature: the SDK sample's enveloped XMLDSig Signature carries no
//     xmlns, so it falls in the edXML default namespace rather than
//     http://www.w3.org/2000/09/xmldsig#, and uses rsa-sha1. Read accepts
//     either namespace and hands the element's exact bytes and offset to a
//     verifier (Package.Signature); it verifies nothing itself. Its
//     Reference URI="" covers the whole file, attachments included.
//   - Bussiness: the standard spells it with a double s (Bussiness,
//     BussinessDocType, BussinessDocReason); the SDK puts it inside
//     TraceHeaderList, some builds directly in edXMLHeader. Read accepts both.
//     BussinessDocType: 0 new, 1 revoke, 2 update, 3 replace; the hub's
//     BusinessType is the same shifted by one (zero means unset).
//   - Dates: PromulgationDate and DueDate YYYY/MM/DD, Timestamp
//     yyyy/MM/dd HH:mm:ss with no zone (read as Vietnam's time, UTC+7).
//     Field builds also write YYYY-MM-DD; Read accepts it.
//   - DocumentId is OrganId,YYYY/MM/DD,number/notation. The SDK sample's
//     Bussiness/DocumentId differs from its MessageHeader/DocumentId (and
//     its CodeNumber is not a number): samples are not to be trusted for
//     consistency, the hub's envelope rules are applied after conversion.
//   - OrganId: Decree 30/2020 says 13 characters (000.00.31.H53); the SDK
//     sample has a 10-character one (28.22.H17). The hub's directory decides.
//   - Priority (OtherInfo): 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc,
//     4 hỏa tốc hẹn giờ in the gateways' code; the hub has no "hẹn giờ", so
//     4 maps to hỏa tốc and the written value is kept in the envelope's
//     EdxmlHeader.
//   - Status codes: 01 arrived, 02 refused/returned, 03 accepted
//     (registered), 04 assigned, 05 in progress, 06 done, 13 the sender asks
//     to recall, 15 recall agreed, 16 recall refused. Codes 07–12 and 14
//     appear in no public text we found and are refused.
//   - Attachments: base64 in ContentTransferEncoded, sometimes a zip
//     (ContentType application/zip); .NET builds write &#13; inside the
//     base64, which Read skips.
//
// A document's edXML DocumentId, not a message id, is what a revocation,
// update or replacement names, so MessageID derives the hub's message id
// from it (a UUID v5).
package edxml
