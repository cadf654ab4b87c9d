// Command samplepdf writes a small real PDF for demos and benchmarks.
//
//	samplepdf -out FILE [-title T] [-pad BYTES] [-xref-stream]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lienthong/lienthong/internal/samplepdf"
)

func main() {
	out := flag.String("out", "", "output file")
	title := flag.String("title", "Quyet dinh ve viec ban hanh Ke hoach chuyen doi so nam 2027", "title on page 1")
	pad := flag.Int64("pad", 0, "filler bytes to reach a target size")
	xrefStream := flag.Bool("xref-stream", false, "use a cross-reference stream")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "samplepdf: -out is required")
		os.Exit(2)
	}
	f, err := os.Create(*out)
	if err == nil {
		err = samplepdf.Write(f, samplepdf.Options{Title: *title, PadBytes: *pad, XRefStream: *xrefStream,
			Lines: []string{"UBND xa Dong Hoa - So 12/QD-UBND", "Van ban mau cua lienthong"}})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "samplepdf:", err)
		os.Exit(1)
	}
}
