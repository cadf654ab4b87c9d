package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteReport writes the human-readable table and then, as the last line,
// the result as one JSON object.
func WriteReport(w io.Writer, cfg Config, res *Result) error {
	fmt.Fprintf(w, "lienthong hub benchmark — %s, %d CPUs (GOMAXPROCS %d)\n", res.Go, res.CPUs, res.GOMAXPROCS)
	fmt.Fprintf(w, "directory: %d agencies; corpus: %d PDFs of %d bytes, each signed twice (head, then seal); cache %s\n",
		res.Agencies, res.CorpusDocs, res.PDFBytes, res.Cache)
	fmt.Fprintf(w, "recipients mix single,2-5,group = %s; receivers write to %s\n", res.Mix, res.Inbox)
	if res.ClerkPath {
		fmt.Fprintf(w, "senders send through the clerk's outbox (a register on disk per agency), as ltnode send does\n")
	}
	if res.HubProcess {
		fmt.Fprintf(w, "the hub runs as its own lthub process; the clients (senders and receivers) share this one and the disk\n\n")
	} else {
		fmt.Fprintf(w, "the hub and all clients share this process and disk: RSS, heap, CPU and disk flushes include the senders' and receivers' work\n\n")
	}
	// One table; section titles span the columns (a line without tabs is
	// left alone by tabwriter but would end the column block).
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(what, value, note string) { fmt.Fprintf(tw, "  %s\t%s\t%s\n", what, value, note) }
	section := func(format string, args ...any) {
		fmt.Fprintf(tw, "%s\t\t\n", fmt.Sprintf(format, args...))
	}
	section("maximum rate")
	row("setting", fmt.Sprintf("%d senders", res.Senders), fmt.Sprintf("%.0fs measured after %s warm-up", res.DurationS, cfg.Warmup))
	row("accepted", fmt.Sprintf("%.1f docs/s", res.DocsPerS), "Send returned: durable (flushed)")
	row("uploaded", fmt.Sprintf("%.1f MB/s", res.MBPerS), "PDF bytes accepted, 10^6 B")
	row("delivered+acked", fmt.Sprintf("%.1f deliveries/s", res.DeliveredPerS), fmt.Sprintf("fan-out %.2f recipients/doc; backlog %d at the end", res.Fanout, res.BacklogAtEnd))
	row("Send latency", fmt.Sprintf("p50 %.1f ms", res.P50Ms), fmt.Sprintf("p99 %.1f ms, p99.9 %.1f ms", res.P99Ms, res.P999Ms))
	if res.HubProcess {
		row("hub CPU", fmt.Sprintf("%.2f ms/doc", res.HubCPUMsPerDoc), "user+system of the lthub process (/proc/PID/stat)")
		row("clients CPU", fmt.Sprintf("%.2f ms/doc", res.CPUSPerDoc*1e3), "user+system of this process: senders and receivers")
		row("hub peak RSS", fmt.Sprintf("%.1f MB", res.HubRSSMB), fmt.Sprintf("the lthub process; clients %.1f MB", res.ClientsRSSMB))
	} else {
		row("CPU", fmt.Sprintf("%.2f ms/doc", res.CPUSPerDoc*1e3), "user+system, whole process")
		row("peak RSS", fmt.Sprintf("%.1f MB", res.HubRSSMB), "whole process while the hub ran")
	}
	row("peak Go heap", fmt.Sprintf("%.1f MB", res.HeapPeakMB), fmt.Sprintf("objects; live after GC %.1f MB", res.HeapLivePeakMB))
	if res.HalfLoadRate > 0 {
		section("open loop")
		row("offered", fmt.Sprintf("%.1f docs/s", res.HalfLoadRate), "fixed pacing: half the maximum unless --latency-rate")
		row("completed", fmt.Sprintf("%.1f docs/s", res.HalfLoadDocsPS), "")
		row("Send latency", fmt.Sprintf("p50 %.1f ms", res.HalfLoadP50Ms), fmt.Sprintf("p99 %.1f ms, p99.9 %.1f ms (from scheduled start)", res.HalfLoadP99Ms, res.HalfLoadP999Ms))
	}
	if res.LowRate > 0 {
		section("open loop at a province's busy hour")
		row("offered", fmt.Sprintf("%.1f docs/s", res.LowRate), "--low-rate")
		row("Send latency", fmt.Sprintf("p50 %.1f ms", res.P50MsAt20), fmt.Sprintf("p99 %.1f ms (from scheduled start)", res.P99MsAt20))
	}
	section("CPU floor of one document")
	f := res.Floor
	row("floor", fmt.Sprintf("%.2f ms/doc", res.FloorCPUMsPerDoc), fmt.Sprintf("TLS %.3f + SHA-256 %.3f ns/B, writes %.3f ns/B, verification %.2f ms (fsync %.2f ms CPU, not summed)",
		f.AESGCMNsPerByte, f.SHA256NsPerByte, f.WriteNsPerByte, f.VerifyMsPerDoc, f.FsyncMs))
	row("ratio to floor", fmt.Sprintf("%.3f", res.RatioToFloor), fmt.Sprintf("accepted docs/s ÷ (%d cores ÷ floor)", res.CPUs))
	section("raw limit")
	row("stored", fmt.Sprintf("%.1f docs/s", res.LimitDocsPerS), "blob write+flush, store.Accept; no gRPC, no verification")
	row("hub / limit", fmt.Sprintf("%.3f", res.Ratio), "ratio of the accepted rates")
	section("verification")
	row("one core", fmt.Sprintf("%.1f docs/s", res.VerifyDocsPerS1), "pades.Verify of the corpus PDFs, in memory")
	row("all cores", fmt.Sprintf("%.1f docs/s", res.VerifyDocsPerS), fmt.Sprintf("%.1f MB/s", res.VerifyMBPerS))
	section("checks")
	row("accepted in all", fmt.Sprint(res.AcceptedTotal), "warm-up and open loop included")
	row("deliveries", fmt.Sprintf("%d of %d", res.DeliveriesTotal, res.DeliveriesExpected), fmt.Sprintf("all acknowledged after draining %.1fs", res.DrainS))
	if err := tw.Flush(); err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "\n%s\n", b)
	return err
}
