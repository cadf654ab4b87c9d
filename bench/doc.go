// Package bench is the hub's performance harness, run by ltbench and
// `make bench`. One run measures, on this machine:
//
//   - the hub's maximum rate: a real hub (bbolt on disk, gRPC over mutual
//     TLS on 127.0.0.1, every envelope and PDF signature verified) served
//     in this process, with Senders goroutines sending signed PDFs through
//     the node library and one receiver per agency taking them with
//     ReceiveInto and acknowledging them. It reports accepted documents/s
//     (Send returned: the document is durable), deliveries/s, MB/s, Send
//     latency percentiles, peak RSS and Go heap, and CPU time per document;
//   - the raw limit of the same work without gRPC and verification: the
//     same PDF bytes hashed and written as blobs and accepted by a store
//     (hub/store, group commit with fsync) at the same concurrency;
//   - PAdES verification throughput of the corpus, on one core and on all;
//   - Send latency under an open-loop load of half the measured maximum.
//
// Clients and hub share the process and the disk: RSS, heap and CPU
// figures include the senders' and receivers' work (TLS, hashing, envelope
// and receipt signatures, writing received files and flushing them), and
// the receivers' flushes compete with the hub's. Config.Inbox (ltbench --inbox)
// moves the receivers' folders elsewhere, e.g. to a tmpfs, as if the
// agencies wrote on their own machines.
//
// Config.ProfileDir (ltbench --profile) writes a CPU profile, allocation
// profiles (allocs.pprof with allocs-base.pprof as its -base) of the
// measured span of the maximum-rate run, and an execution trace of its
// first two seconds.
//
// # Cache
//
// A development PKI changes with every hub.Init, and signatures made with
// one PKI do not verify under another. The harness therefore caches a hub
// template, not only the corpus: Cache/<directory key>/hub is a hub
// directory made once by hub.Init for the chosen province (its store holds
// only the agency directory), and Cache/<directory key>/corpus-<key>/
// holds the PDFs, signed twice (the agency head's certificate, then the
// agency seal) with that template's keys, keyed by a hash of the corpus
// parameters and the template's root CA fingerprint. Every run copies the
// template to a fresh work directory, so runs never see each other's
// documents. A template whose certificates expire within 30 days is
// rebuilt. Run one ltbench per cache directory at a time.
//
// # Content addressing
//
// The hub stores blobs by SHA-256, and a document's PDF cannot be varied
// without breaking its signatures, so the corpus PDFs are sent again and
// again: the hub still writes and flushes each upload into a temporary file
// and then drops it as a duplicate instead of renaming it, which costs the
// same; the disk does not fill.
package bench
