package edxml_test

import (
	"bytes"
	"io"
	"math/rand/v2"
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

// TestReadMutations is FuzzRead's property over a fixed set of mutated
// packages (flipped bytes, cuts, duplicated and deleted spans), so the
// plain test run covers it on a machine too busy for the fuzzer.
func TestReadMutations(t *testing.T) {
	var seeds [][]byte
	for _, name := range []string{"new.edxml", "revoke.edxml", "replace.edxml"} {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, raw)
	}
	seeds = append(seeds, []byte(statusXML("13", edxml.LegacyGoVN)))
	r := rand.New(rand.NewPCG(1, 2))
	lim := edxml.Limits{MaxTotal: 1 << 20, MaxText: 4 << 10, MaxDepth: 16, MaxAttachments: 8, MaxEntries: 64}
	for i := 0; i < 3000; i++ {
		in := bytes.Clone(seeds[r.IntN(len(seeds))])
		a := r.IntN(len(in))
		b := a + r.IntN(len(in)-a)
		switch r.IntN(4) {
		case 0:
			for k := 0; k < 3; k++ {
				in[r.IntN(len(in))] = byte(r.IntN(256))
			}
		case 1:
			in = in[:a]
		case 2:
			p := r.IntN(len(in))
			in = append(in[:p:p], append(bytes.Clone(in[a:b]), in[p:]...)...)
		case 3:
			in = append(in[:a:a], in[b:]...)
		}
		got := files{}
		msg, err := edxml.Read(bytes.NewReader(in), got.sink, lim)
		if err != nil {
			continue
		}
		var buf bytes.Buffer
		if msg.Status != nil {
			if edxml.WriteStatus(&buf, msg.Status) == nil {
				if _, err := edxml.Read(&buf, nil, edxml.Limits{}); err != nil {
					t.Fatalf("mutation %d: a written status does not read: %v", i, err)
				}
			}
			continue
		}
		err = edxml.Write(&buf, msg.Package, func(a edxml.Attachment) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(got[a.Index].Bytes())), nil
		})
		if err == nil {
			if _, err := edxml.Read(&buf, nil, edxml.Limits{}); err != nil {
				t.Fatalf("mutation %d: a written package does not read: %v\n%s", i, err, buf.String())
			}
		}
	}
}
