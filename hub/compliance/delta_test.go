package compliance

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

const (
	sender = "000.00.31.H53"
	rcpt1  = "000.01.31.H53"
	rcpt2  = "000.02.31.H53"
)

// accepted is 00:30 on 2026-03-02 in the province, still 2026-03-01 in UTC.
var accepted = time.Date(2026, 3, 1, 17, 30, 0, 0, time.UTC)

// counts returns d's counters by value, for comparison.
func counts(t *testing.T, d *Delta) map[Key]Counts {
	t.Helper()
	out := make(map[Key]Counts, len(d.Counts))
	for k, c := range d.Counts {
		if c == nil {
			t.Fatalf("nil counters for %+v", k)
		}
		out[k] = *c
	}
	return out
}

func checkDelta(t *testing.T, name string, d *Delta, want map[Key]Counts, wantNumbers []NumberUse) {
	t.Helper()
	if got := counts(t, d); !reflect.DeepEqual(got, want) {
		t.Errorf("%s: counters\n got  %+v\n want %+v", name, got, want)
	}
	if !reflect.DeepEqual(d.Numbers, wantNumbers) {
		t.Errorf("%s: numbers\n got  %+v\n want %+v", name, d.Numbers, wantNumbers)
	}
}

func newDoc(business lienthongv1.BusinessType) *Doc {
	return &Doc{
		Sender: sender, Recipients: []string{rcpt1, rcpt2}, AcceptedAt: accepted,
		Business: business, Signed: true, Number: 45, Notation: "QĐ-UBND", Year: 2026,
		Due: d20260308, HasDue: true,
	}
}

func TestAccepted(t *testing.T) {
	receivedAndDue := map[Key]Counts{
		{rcpt1, d20260302}: {Received: 1},
		{rcpt2, d20260302}: {Received: 1},
		{rcpt1, d20260308}: {Due: 1},
		{rcpt2, d20260308}: {Due: 1},
	}
	with := func(extra map[Key]Counts) map[Key]Counts {
		m := make(map[Key]Counts)
		for k, v := range receivedAndDue {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	use := []NumberUse{{Agency: sender, Year: 2026, Number: 45, Notation: "QĐ-UBND", Channel: ChannelElectronic}}

	tests := []struct {
		name    string
		doc     *Doc
		want    map[Key]Counts
		numbers []NumberUse
	}{
		{"new, signed", newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_NEW),
			with(map[Key]Counts{{sender, d20260302}: {Electronic: 1, Signed: 1}}), use},
		{"new, unsigned", func() *Doc { d := newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_NEW); d.Signed = false; return d }(),
			with(map[Key]Counts{{sender, d20260302}: {Electronic: 1}}), use},
		{"revoke", newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE), receivedAndDue, nil},
		{"update", newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_UPDATE), receivedAndDue, use},
		{"replace", newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE),
			with(map[Key]Counts{{sender, d20260302}: {Electronic: 1, Signed: 1}}), use},
		{"new, no due date, no register number", func() *Doc {
			d := newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_NEW)
			d.HasDue, d.Due, d.Number = false, 0, 0
			return d
		}(), map[Key]Counts{
			{sender, d20260302}: {Electronic: 1, Signed: 1},
			{rcpt1, d20260302}:  {Received: 1},
			{rcpt2, d20260302}:  {Received: 1},
		}, nil},
		{"new, sent to itself, due the same day", func() *Doc {
			d := newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_NEW)
			d.Recipients, d.Due, d.Year = []string{sender}, d20260302, 2025
			return d
		}(), map[Key]Counts{
			{sender, d20260302}: {Electronic: 1, Signed: 1, Received: 1, Due: 1},
		}, []NumberUse{{Agency: sender, Year: 2025, Number: 45, Notation: "QĐ-UBND", Channel: ChannelElectronic}}},
	}
	for _, tt := range tests {
		d := NewDelta()
		d.Accepted(tt.doc)
		checkDelta(t, tt.name, d, tt.want, tt.numbers)
	}

	// Two documents add up.
	d := NewDelta()
	d.Accepted(newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_NEW))
	second := newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_NEW)
	second.Signed, second.Number, second.Recipients = false, 46, []string{rcpt1}
	d.Accepted(second)
	checkDelta(t, "two documents", d, map[Key]Counts{
		{sender, d20260302}: {Electronic: 2, Signed: 1},
		{rcpt1, d20260302}:  {Received: 2},
		{rcpt2, d20260302}:  {Received: 1},
		{rcpt1, d20260308}:  {Due: 2},
		{rcpt2, d20260308}:  {Due: 1},
	}, []NumberUse{use[0], {Agency: sender, Year: 2026, Number: 46, Notation: "QĐ-UBND", Channel: ChannelElectronic}})
}

func TestStep(t *testing.T) {
	doc := newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_NEW) // accepted 2026-03-01T17:30Z, due 2026-03-08
	noDue := newDoc(lienthongv1.BusinessType_BUSINESS_TYPE_NEW)
	noDue.HasDue, noDue.Due = false, 0

	lastInstant := time.Date(2026, 3, 8, 16, 59, 59, 0, time.UTC) // 23:59:59 on the due day in the province
	dueEnd := time.Date(2026, 3, 8, 17, 0, 0, 0, time.UTC)        // 00:00 the next day

	tests := []struct {
		name   string
		doc    *Doc
		status lienthongv1.Status
		at     time.Time
		want   map[Key]Counts
	}{
		{"delivered after 90 s", doc, lienthongv1.Status_STATUS_DELIVERED, accepted.Add(90 * time.Second),
			map[Key]Counts{{rcpt1, d20260302}: {Ack: Histogram{2: 1}}}},
		{"delivered on the next day, 23h35m later", doc, lienthongv1.Status_STATUS_DELIVERED, time.Date(2026, 3, 2, 17, 5, 0, 0, time.UTC),
			map[Key]Counts{{rcpt1, d20260303}: {Ack: Histogram{9: 1}}}},
		{"delivered before acceptance (clock skew)", doc, lienthongv1.Status_STATUS_DELIVERED, accepted.Add(-time.Minute),
			map[Key]Counts{{rcpt1, d20260302}: {Ack: Histogram{0: 1}}}},
		{"done on the last instant of the due day", doc, lienthongv1.Status_STATUS_DONE, lastInstant,
			// 6 days 23h29m59s: the 7-day bucket; on time.
			map[Key]Counts{{rcpt1, d20260308}: {Done: Histogram{13: 1}, OnTime: 1}}},
		{"done at the end of the due day", doc, lienthongv1.Status_STATUS_DONE, dueEnd,
			map[Key]Counts{{rcpt1, d20260308 + 1}: {Done: Histogram{13: 1}}}},
		{"done early", doc, lienthongv1.Status_STATUS_DONE, accepted.Add(3 * time.Hour),
			map[Key]Counts{
				{rcpt1, d20260302}: {Done: Histogram{7: 1}},
				{rcpt1, d20260308}: {OnTime: 1},
			}},
		{"done, no due date", noDue, lienthongv1.Status_STATUS_DONE, dueEnd.Add(48 * time.Hour),
			// 8 days 23h30m: the 10-day bucket.
			map[Key]Counts{{rcpt1, d20260311}: {Done: Histogram{14: 1}}}},
		{"rejected in time", doc, lienthongv1.Status_STATUS_REJECTED, lastInstant,
			map[Key]Counts{{rcpt1, d20260308}: {OnTime: 1}}},
		{"rejected late", doc, lienthongv1.Status_STATUS_REJECTED, dueEnd, map[Key]Counts{}},
		{"revoked in time", doc, lienthongv1.Status_STATUS_REVOKED, accepted.Add(time.Hour),
			map[Key]Counts{{rcpt1, d20260308}: {OnTime: 1}}},
		{"revoked late", doc, lienthongv1.Status_STATUS_REVOKED, dueEnd.Add(time.Hour), map[Key]Counts{}},
		{"rejected, no due date", noDue, lienthongv1.Status_STATUS_REJECTED, accepted, map[Key]Counts{}},
		{"received", doc, lienthongv1.Status_STATUS_RECEIVED, accepted.Add(time.Hour), map[Key]Counts{}},
		{"assigned", doc, lienthongv1.Status_STATUS_ASSIGNED, accepted.Add(time.Hour), map[Key]Counts{}},
		{"in progress", doc, lienthongv1.Status_STATUS_IN_PROGRESS, accepted.Add(time.Hour), map[Key]Counts{}},
		{"accepted", doc, lienthongv1.Status_STATUS_ACCEPTED, accepted, map[Key]Counts{}},
		{"unspecified", doc, lienthongv1.Status_STATUS_UNSPECIFIED, accepted, map[Key]Counts{}},
	}
	for _, tt := range tests {
		d := NewDelta()
		d.Step(tt.doc, rcpt1, tt.status, tt.at)
		checkDelta(t, tt.name, d, tt.want, nil)
	}
}

func TestDocOf(t *testing.T) {
	recipients := []string{rcpt1, rcpt2}
	envelope := func(t *testing.T, e *lienthongv1.Envelope) []byte {
		t.Helper()
		b, err := proto.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// 00:30 on 2026-01-01 in the province, still 2025 in UTC.
	newYear := time.Date(2025, 12, 31, 17, 30, 0, 0, time.UTC)

	tests := []struct {
		name     string
		env      *lienthongv1.Envelope
		at       time.Time
		verdict  string
		want     Doc
		wantText string
	}{
		{
			name: "full",
			env: &lienthongv1.Envelope{
				MessageId: "m1", Sender: sender, BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW,
				Number: "045", Notation: "QĐ-UBND", IssueDate: "2025-12-30", DueDate: "2026-03-08",
			},
			at: accepted, verdict: "valid",
			want: Doc{Sender: sender, Recipients: recipients, AcceptedAt: accepted, Business: lienthongv1.BusinessType_BUSINESS_TYPE_NEW,
				Signed: true, Number: 45, Notation: "QĐ-UBND", Year: 2025, Due: d20260308, HasDue: true},
		},
		{
			name: "bad issue date: the year of acceptance in the province",
			env: &lienthongv1.Envelope{
				BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE, Number: "7", Notation: "UBND-VP", IssueDate: "30/12/2025",
			},
			at: newYear, verdict: "invalid",
			want: Doc{Sender: sender, Recipients: recipients, AcceptedAt: newYear, Business: lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE,
				Number: 7, Notation: "UBND-VP", Year: 2026},
		},
		{
			name: "no number, bad due date",
			env:  &lienthongv1.Envelope{BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_UPDATE, Number: "45a", DueDate: "soon"},
			at:   accepted, verdict: "unsigned",
			want: Doc{Sender: sender, Recipients: recipients, AcceptedAt: accepted, Business: lienthongv1.BusinessType_BUSINESS_TYPE_UPDATE, Year: 2026},
		},
		{
			name: "verdict VALID is not valid", env: &lienthongv1.Envelope{Number: "0"}, at: accepted, verdict: "VALID",
			want: Doc{Sender: sender, Recipients: recipients, AcceptedAt: accepted, Year: 2026},
		},
		{
			name: "verdict modified", env: &lienthongv1.Envelope{}, at: accepted, verdict: "modified",
			want: Doc{Sender: sender, Recipients: recipients, AcceptedAt: accepted, Year: 2026},
		},
		{
			name: "no verdict", env: &lienthongv1.Envelope{}, at: accepted, verdict: "",
			want: Doc{Sender: sender, Recipients: recipients, AcceptedAt: accepted, Year: 2026},
		},
	}
	for _, tt := range tests {
		got, err := DocOf(sender, recipients, envelope(t, tt.env), tt.at, tt.verdict)
		if err != nil {
			t.Errorf("%s: DocOf: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: DocOf\n got  %+v\n want %+v", tt.name, got, tt.want)
		}
	}

	if _, err := DocOf(sender, recipients, []byte{0xff, 0xff}, accepted, "valid"); err == nil || !strings.HasPrefix(err.Error(), "decoding envelope: ") {
		t.Errorf("DocOf(garbage) error = %v, want one starting with %q", err, "decoding envelope: ")
	}
}

func TestChannelWins(t *testing.T) {
	tests := []struct {
		s, old Channel
		want   bool
	}{
		{ChannelElectronic, ChannelPaper, true},
		{ChannelElectronic, ChannelSecret, true},
		{ChannelElectronic, ChannelElectronic, false},
		{ChannelPaper, ChannelElectronic, false},
		{ChannelSecret, ChannelElectronic, false},
		{ChannelPaper, ChannelSecret, false},
		{ChannelSecret, ChannelPaper, false},
		{ChannelPaper, ChannelPaper, false},
	}
	for _, tt := range tests {
		if got := tt.s.Wins(tt.old); got != tt.want {
			t.Errorf("Channel(%c).Wins(%c) = %v, want %v", tt.s, tt.old, got, tt.want)
		}
	}
	if ChannelElectronic != 'E' || ChannelPaper != 'P' || ChannelSecret != 'S' {
		t.Error("stored channel bytes changed")
	}
}

func TestNewDeclaration(t *testing.T) {
	// 00:30 on 2026-03-11 in the province, still 2026-03-10 in UTC.
	now := time.Date(2026, 3, 10, 17, 30, 0, 0, time.UTC)
	const agency = "000.01.31.H53"
	badNumber := func(n string) string {
		return `số văn bản "` + n + `" phải là số nguyên dương có tối đa 6 chữ số, ví dụ 45 (number must be a positive integer up to 999999)`
	}

	refusals := []struct {
		name                                string
		ch                                  Channel
		number, notation, date, kind, wantT string
	}{
		{"electronic channel", ChannelElectronic, "45", "QĐ-UBND", "2026-03-01", "", "thiếu loại khai báo: giấy (paper) hay mật (secret)"},
		{"no channel", 0, "45", "QĐ-UBND", "2026-03-01", "", "thiếu loại khai báo: giấy (paper) hay mật (secret)"},
		{"number with a letter", ChannelPaper, "45a", "QĐ-UBND", "2026-03-01", "", badNumber("45a")},
		{"number zero", ChannelPaper, "0", "QĐ-UBND", "2026-03-01", "", badNumber("0")},
		{"no number", ChannelSecret, "", "QĐ-UBND", "2026-03-01", "", badNumber("")},
		{"negative number", ChannelPaper, "-5", "QĐ-UBND", "2026-03-01", "", badNumber("-5")},
		{"number over the register", ChannelPaper, "999999999", "QĐ-UBND", "2026-03-01", "", badNumber("999999999")},
		{"number of 20 digits", ChannelPaper, "12345678901234567890", "QĐ-UBND", "2026-03-01", "", badNumber("12345678901234567890")},
		{"empty notation", ChannelPaper, "45", "", "2026-03-01", "", "thiếu ký hiệu văn bản, ví dụ QĐ-UBND (notation is required)"},
		{"blank notation", ChannelPaper, "45", " \t ", "2026-03-01", "", "thiếu ký hiệu văn bản, ví dụ QĐ-UBND (notation is required)"},
		{"notation of 101 bytes", ChannelPaper, "45", strings.Repeat("a", 101), "2026-03-01", "", "ký hiệu văn bản dài 101 byte, tối đa 100 (notation is limited to 100 bytes)"},
		{"notation of 51 two-byte letters", ChannelPaper, "45", strings.Repeat("Đ", 51), "2026-03-01", "", "ký hiệu văn bản dài 102 byte, tối đa 100 (notation is limited to 100 bytes)"},
		{"notation with a space", ChannelPaper, "45", "QĐ UBND", "2026-03-01", "", `ký hiệu "QĐ UBND" chỉ gồm chữ, số và các dấu - / . _ ( ) &, không có khoảng trắng, ví dụ QĐ-UBND (notation: letters, digits and - / . _ ( ) & only)`},
		{"type of 101 bytes", ChannelPaper, "45", "QĐ-UBND", "2026-03-01", strings.Repeat("b", 101), "loại văn bản dài 101 byte, tối đa 100 (document type is limited to 100 bytes)"},
		{"type with an escape", ChannelPaper, "45", "QĐ-UBND", "2026-03-01", "Quyết\x1b[32m định", "loại văn bản (document type) chứa ký tự điều khiển hoặc ký tự đảo chiều U+001B ở ký tự thứ 6; hãy gõ lại không có ký tự đó (document type contains a control or bidi character)"},
		{"bad date", ChannelPaper, "45", "QĐ-UBND", "01/03/2026", "", `ngày ban hành: ngày "01/03/2026" không đúng dạng YYYY-MM-DD (date must be YYYY-MM-DD)`},
		{"impossible date", ChannelPaper, "45", "QĐ-UBND", "2026-02-29", "", `ngày ban hành: ngày "2026-02-29" không đúng dạng YYYY-MM-DD (date must be YYYY-MM-DD)`},
		// Tomorrow is allowed: the node's and the hub's clocks may differ
		// around midnight.
		{"future date", ChannelPaper, "45", "QĐ-UBND", "2026-03-13", "", "ngày ban hành 2026-03-13 ở tương lai (issue date is in the future)"},
		{"far future date", ChannelPaper, "45", "QĐ-UBND", "9999-12-31", "", "ngày ban hành 9999-12-31 ở tương lai (issue date is in the future)"},
		{"before 2000", ChannelSecret, "45", "QĐ-UBND", "1999-12-31", "", "ngày ban hành 1999-12-31 quá cũ (issue date before 2000)"},
	}
	for _, tt := range refusals {
		decl, err := NewDeclaration(agency, tt.ch, tt.number, tt.notation, tt.date, tt.kind, now)
		if err == nil {
			t.Errorf("%s: NewDeclaration = %+v, want an error", tt.name, decl)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: errors.Is(%v, ErrInvalid) = false", tt.name, err)
		}
		if err.Error() != tt.wantT {
			t.Errorf("%s: error text\n got  %q\n want %q", tt.name, err, tt.wantT)
		}
		if decl != nil {
			t.Errorf("%s: got a declaration with the error: %+v", tt.name, decl)
		}
	}

	valid := []struct {
		name                         string
		ch                           Channel
		number, notation, date, kind string
		wantNumber                   uint32
		wantNotation, wantKind       string
		wantDay                      Day
	}{
		// Today in the province, though still yesterday in UTC.
		{"paper, trimmed", ChannelPaper, "045", "  12/QĐ-UBND \t", "2026-03-11", " Quyết định ", 45, "12/QĐ-UBND", "Quyết định", d20260311},
		{"the highest number, tomorrow", ChannelPaper, "0999999", "QĐ-UBND", "2026-03-12", "", 999999, "QĐ-UBND", "", d20260311 + 1},
		{"secret, 100 bytes", ChannelSecret, "7", strings.Repeat("a", 100), "2000-01-01", strings.Repeat("b", 100), 7, strings.Repeat("a", 100), strings.Repeat("b", 100), 10957},
	}
	for _, tt := range valid {
		decl, err := NewDeclaration(agency, tt.ch, tt.number, tt.notation, tt.date, tt.kind, now)
		if err != nil {
			t.Errorf("%s: NewDeclaration: %v", tt.name, err)
			continue
		}
		want := &Declaration{Agency: agency, Channel: tt.ch, Number: tt.wantNumber, Notation: tt.wantNotation,
			IssueDate: tt.wantDay, DocumentType: tt.wantKind, DeclaredAt: now}
		if !reflect.DeepEqual(decl, want) {
			t.Errorf("%s: NewDeclaration\n got  %+v\n want %+v", tt.name, decl, want)
		}
	}
	if errors.Is(errors.New("thiếu ký hiệu văn bản"), ErrInvalid) {
		t.Error("an unrelated error is ErrInvalid")
	}
}

func TestDeclared(t *testing.T) {
	d := NewDelta()
	d.Declared(&Declaration{Agency: rcpt1, Channel: ChannelPaper, Number: 12, Notation: "QĐ-UBND", IssueDate: d20260305})
	d.Declared(&Declaration{Agency: rcpt1, Channel: ChannelSecret, Number: 13, Notation: "QĐ-UBND", IssueDate: d20260305})
	d.Declared(&Declaration{Agency: rcpt1, Channel: ChannelPaper, Number: 3, Notation: "CV", IssueDate: d20251231})
	checkDelta(t, "declarations", d, map[Key]Counts{
		{rcpt1, d20260305}: {Paper: 1, Secret: 1},
		{rcpt1, d20251231}: {Paper: 1},
	}, []NumberUse{
		{Agency: rcpt1, Year: 2026, Number: 12, Notation: "QĐ-UBND", Channel: ChannelPaper},
		{Agency: rcpt1, Year: 2026, Number: 13, Notation: "QĐ-UBND", Channel: ChannelSecret},
		{Agency: rcpt1, Year: 2025, Number: 3, Notation: "CV", Channel: ChannelPaper},
	})
}
