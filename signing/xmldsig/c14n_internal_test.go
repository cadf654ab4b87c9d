package xmldsig

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
)

// TestC14NNamespaces checks the namespace rendering of both methods on
// the shape of the national axis sample (one URI as the default and as
// a prefix), written out by hand from the two specifications.
func TestC14NNamespaces(t *testing.T) {
	doc := `<?xml version="1.0"?><!-- c --><a xmlns="urn:m" b="1" a="2"><p:b xmlns:p="urn:m" xmlns:u="urn:u"><c/></p:b><d xmlns=""/></a>`
	for _, tc := range []struct {
		name string
		m    c14nMethod
		want string
	}{
		{"inclusive", c14nMethod{}, `<a xmlns="urn:m" a="2" b="1"><p:b xmlns:p="urn:m" xmlns:u="urn:u"><c></c></p:b><d xmlns=""></d></a>`},
		{"exclusive", c14nMethod{exclusive: true}, `<a xmlns="urn:m" a="2" b="1"><p:b xmlns:p="urn:m"><c></c></p:b><d xmlns=""></d></a>`},
		{"exclusive with PrefixList u", c14nMethod{exclusive: true, inclusive: []string{"u"}}, `<a xmlns="urn:m" a="2" b="1"><p:b xmlns:p="urn:m" xmlns:u="urn:u"><c></c></p:b><d xmlns=""></d></a>`},
		{"inclusive with comments", c14nMethod{comments: true}, "<!-- c -->\n" + `<a xmlns="urn:m" a="2" b="1"><p:b xmlns:p="urn:m" xmlns:u="urn:u"><c></c></p:b><d xmlns=""></d></a>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			c := newCanonicalizer(&buf, tc.m, nil)
			err := walk(strings.NewReader(doc), Options{MaxDepth: 10}, func(tk xml.Token, _ int, _ scope) (bool, error) {
				c.token(tk)
				return false, c.err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
