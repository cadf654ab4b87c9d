// Package compliance answers the province's compliance questions: how many
// of each agency's outgoing documents went over the hub, how many were
// declared on paper or secret, how many carried a valid signature, how fast
// recipients acknowledged and finished them, and which numbers of an
// agency's yearly register were never seen ("possibly sent on paper").
//
// The hub keeps counters per agency and day (Counts), updated inside the
// same transactions that store documents, receipts and declarations; Delta
// says what one event adds. A report then costs O(agencies × days), never
// a scan of documents. Rebuilding the counters from stored documents uses
// the same Delta functions, so the two agree by construction and a check
// can prove it.
//
// Days are calendar days in the province's time zone (UTC+7, no daylight
// saving).
package compliance
