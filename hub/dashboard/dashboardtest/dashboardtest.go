// Package dashboardtest reads the figures a dashboard page shows (its
// data-* attributes) and lists what a page must show for a report, so
// tests can check a page, rendered by Go or by a browser, against the
// JSON report.
package dashboardtest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"golang.org/x/net/html"

	"github.com/lienthong/lienthong/hub/compliance"
)

// Shown is what a page displays, read from its data-* attributes.
type Shown struct {
	// Fields maps a figure's key (see key) to its text.
	Fields map[string]string
	// Rows are the ranking's codes and ranks ("CODE#RANK"), in page order.
	Rows []string
	// Links are the hrefs of the page's links, in page order.
	Links []string
}

// key names one figure on a page: "province/electronic_rate",
// "code:000.00.31.H53/paper", "kind:district/overdue",
// "month:2026-03/electronic_rate", "agency:000.12.31.H53/gaps".
func key(el *html.Node, field string) string {
	attr := func(name string) string {
		for _, a := range el.Attr {
			if a.Key == name {
				return a.Val
			}
		}
		return ""
	}
	switch scope, code := attr("data-scope"), attr("data-code"); {
	case scope == "province":
		return "province/" + field
	case scope == "agency":
		return "agency:" + code + "/" + field
	case code != "":
		return "code:" + code + "/" + field
	case attr("data-kind") != "":
		return "kind:" + attr("data-kind") + "/" + field
	case attr("data-month") != "":
		return "month:" + attr("data-month") + "/" + field
	default:
		return field
	}
}

// Parse reads the figures a page shows. A figure shown twice with
// different texts is an error.
func Parse(page string) (*Shown, error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, fmt.Errorf("parsing the page: %w", err)
	}
	s := &Shown{Fields: make(map[string]string)}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		var field, rank, code, href string
		for _, a := range n.Attr {
			switch a.Key {
			case "data-field":
				field = a.Val
			case "data-rank":
				rank = a.Val
			case "data-code":
				code = a.Val
			case "href":
				href = a.Val
			}
		}
		if href != "" {
			s.Links = append(s.Links, href)
		}
		if n.Data == "tr" && rank != "" {
			s.Rows = append(s.Rows, code+"#"+rank)
		}
		if field == "" {
			continue
		}
		k, v := key(n, field), text(n)
		if old, ok := s.Fields[k]; ok && old != v {
			return nil, fmt.Errorf("%s shown as both %q and %q", k, old, v)
		}
		s.Fields[k] = v
	}
	return s, nil
}

// text is an element's text with runs of white space as one space.
func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode && (d.Parent == nil || d.Parent.Data != "title") {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// Expected lists what a page must show for a report: each data-field
// formatted as the clerk reads it. agency selects the agency page.
func Expected(rep *compliance.Report, agency string) map[string]string {
	m := make(map[string]string)
	figures := func(prefix string, f *compliance.Figures, medians bool) {
		m[prefix+"electronic"] = fmt.Sprint(f.Electronic)
		m[prefix+"paper"] = fmt.Sprint(f.Paper)
		m[prefix+"secret"] = fmt.Sprint(f.Secret)
		m[prefix+"electronic_rate"] = compliance.Percent(f.ElectronicRate, true)
		m[prefix+"signed_rate"] = compliance.Percent(f.SignedRate, true)
		m[prefix+"overdue"] = fmt.Sprint(f.Overdue)
		if medians {
			m[prefix+"median_ack_seconds"] = compliance.AtMost(f.MedianAckSeconds)
			m[prefix+"median_done_seconds"] = compliance.AtMost(f.MedianDoneSeconds)
		}
	}
	cards := func(prefix string, f *compliance.Figures) {
		figures(prefix, f, true)
		m[prefix+"signed"] = fmt.Sprint(f.Signed)
		m[prefix+"received"] = fmt.Sprint(f.Received)
		m[prefix+"acknowledged"] = fmt.Sprint(f.Acknowledged)
		m[prefix+"done"] = fmt.Sprint(f.Done)
		m[prefix+"due"] = fmt.Sprint(f.Due)
	}
	for _, mo := range rep.Months {
		m["month:"+mo.Month+"/electronic_rate"] = compliance.Percent(mo.ElectronicRate, true)
	}
	if agency != "" {
		for _, a := range rep.Agencies {
			if a.Code != agency {
				continue
			}
			p := "agency:" + a.Code + "/"
			cards(p, &a.Figures)
			m[p+"code"] = a.Code
			m[p+"label"] = a.Label
			m[p+"possibly_paper"] = fmt.Sprint(a.PossiblyPaper)
			m[p+"gaps"] = compliance.GapList(a.Gaps)
			if len(a.Gaps) == 0 {
				m[p+"gaps"] = "Không có"
			}
		}
		return m
	}
	cards("province/", &rep.Province)
	for _, k := range rep.Kinds {
		p := "kind:" + k.Kind + "/"
		figures(p, &k.Figures, true)
		m[p+"label"] = k.Label
		m[p+"agencies"] = fmt.Sprint(k.Agencies)
	}
	for _, a := range rep.Agencies {
		p := "code:" + a.Code + "/"
		figures(p, &a.Figures, false)
		m[p+"code"] = a.Code
		m[p+"name"] = a.Name
		m[p+"label"] = a.Label
		m[p+"possibly_paper"] = fmt.Sprint(a.PossiblyPaper)
	}
	return m
}

// Diff lists the differences between what a page shows and what a
// report says it must show; none means the page shows exactly the report.
func Diff(got, want map[string]string) []string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s not shown, want %q", k, want[k]))
		} else if g != want[k] {
			diffs = append(diffs, fmt.Sprintf("%s shown as %q, report says %q", k, g, want[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s shown (%q) but not in the report", k, got[k]))
		}
	}
	return diffs
}
