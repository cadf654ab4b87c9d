package edxml_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/lienthong/lienthong/edxml"
)

// FuzzRead feeds Read arbitrary bytes: it must never panic nor exceed its
// limits, and a package it accepts must survive Write and Read again.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"new.edxml", "revoke.edxml", "update.edxml", "replace.edxml"} {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte(statusXML("03", edxml.Namespace)))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><edXML xmlns="http://www.go.vn/eDoc">&a;</edXML>`))
	lim := edxml.Limits{MaxTotal: 1 << 20, MaxText: 4 << 10, MaxDepth: 16, MaxAttachments: 8, MaxEntries: 64}
	f.Fuzz(func(t *testing.T, in []byte) {
		got := files{}
		msg, err := edxml.Read(bytes.NewReader(in), got.sink, lim)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if msg.Status != nil {
			if err := edxml.WriteStatus(&buf, msg.Status); err != nil {
				return // a status read tolerantly may lack what the writer requires
			}
			if _, err := edxml.Read(&buf, nil, edxml.Limits{}); err != nil {
				t.Fatalf("a written status does not read: %v\n%s", err, buf.String())
			}
			return
		}
		err = edxml.Write(&buf, msg.Package, func(a edxml.Attachment) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(got[a.Index].Bytes())), nil
		})
		if err != nil {
			return
		}
		if _, err := edxml.Read(&buf, nil, edxml.Limits{}); err != nil {
			t.Fatalf("a written package does not read: %v\n%s", err, buf.String())
		}
	})
}
