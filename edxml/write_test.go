package edxml_test

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/lienthong/lienthong/edxml"
	"github.com/lienthong/lienthong/envelope"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

func TestStatusEveryCode(t *testing.T) {
	cases := []struct {
		code edxml.StatusCode
		step lienthongv1.Status
	}{
		{"01", lienthongv1.Status_STATUS_DELIVERED},
		{"02", lienthongv1.Status_STATUS_REJECTED},
		{"03", lienthongv1.Status_STATUS_RECEIVED},
		{"04", lienthongv1.Status_STATUS_ASSIGNED},
		{"05", lienthongv1.Status_STATUS_IN_PROGRESS},
		{"06", lienthongv1.Status_STATUS_DONE},
		{"13", lienthongv1.Status_STATUS_RECALL_REQUESTED},
		{"15", lienthongv1.Status_STATUS_RECALL_AGREED},
		{"16", lienthongv1.Status_STATUS_RECALL_REFUSED},
	}
	for _, c := range cases {
		t.Run(string(c.code), func(t *testing.T) {
			msg, err := edxml.Read(strings.NewReader(statusXML(string(c.code), edxml.Namespace)), nil, edxml.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			st := msg.Status
			if msg.Package != nil || st == nil {
				t.Fatalf("Read returned %+v, want a status", msg)
			}
			want := &edxml.Status{
				Namespace:   edxml.Namespace,
				From:        edxml.Organization{OrganID: "000.12.31.H53", OrganName: "UBND xã An Trường"},
				ResponseFor: edxml.ResponseFor{OrganID: "000.00.31.H53", Code: "123/UBND-VP", PromulgationDate: "2026-11-30", DocumentID: "000.00.31.H53,2026/11/30,123/UBND-VP"},
				Staff:       edxml.StaffInfo{Department: "Văn phòng", Staff: "Lê Văn Cường", Email: "cuong@antruong.gov.vn", Mobile: "0912000002"},
				Code:        c.code,
				Description: "Trạng thái " + string(c.code),
				Timestamp:   time.Date(2026, 12, 1, 14, 30, 0, 0, ict),
			}
			if !st.Timestamp.Equal(want.Timestamp) {
				t.Errorf("timestamp %v", st.Timestamp)
			}
			st.Timestamp = want.Timestamp
			if !reflect.DeepEqual(st, want) {
				t.Errorf("status:\n got %+v\nwant %+v", *st, *want)
			}
			step, err := st.Code.Step()
			if err != nil || step != c.step {
				t.Errorf("Step() = %v, %v; want %v", step, err, c.step)
			}
			if code, ok := edxml.CodeOf(c.step); !ok || code != c.code {
				t.Errorf("CodeOf(%v) = %q, %v", c.step, code, ok)
			}
			// Written and read back: the same status.
			var buf bytes.Buffer
			if err := edxml.WriteStatus(&buf, st); err != nil {
				t.Fatal(err)
			}
			again, err := edxml.Read(&buf, nil, edxml.Limits{})
			if err != nil {
				t.Fatalf("reading the written status: %v\n%s", err, buf.String())
			}
			again.Status.Timestamp = want.Timestamp
			if !reflect.DeepEqual(again.Status, want) {
				t.Errorf("written and read back:\n got %+v\nwant %+v", *again.Status, *want)
			}
		})
	}
	for _, s := range []lienthongv1.Status{lienthongv1.Status_STATUS_ACCEPTED, lienthongv1.Status_STATUS_REVOKED, lienthongv1.Status_STATUS_QUARANTINED} {
		if code, ok := edxml.CodeOf(s); ok {
			t.Errorf("CodeOf(%v) = %q, want none", s, code)
		}
	}
}

// TestWriteRoundTrip writes what Read made of the golden package and
// reads it again: the same package, in the standard namespace, without
// the signature (Write does not sign).
func TestWriteRoundTrip(t *testing.T) {
	for _, ns := range []string{edxml.Namespace, edxml.LegacyEDoc} {
		got := files{}
		msg, err := edxml.Read(bytes.NewReader(golden(t, edxml.Namespace, ns)), got.sink, edxml.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		p := msg.Package
		var buf bytes.Buffer
		err = edxml.Write(&buf, p, func(a edxml.Attachment) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(got[a.Index].Bytes())), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), `xmlns:edXML="`+edxml.Namespace+`"`) || strings.Contains(buf.String(), ns+`"`) && ns != edxml.Namespace {
			t.Errorf("written in the wrong namespace:\n%.300s", buf.String())
		}
		again := files{}
		msg2, err := edxml.Read(&buf, again.sink, edxml.Limits{})
		if err != nil {
			t.Fatalf("reading the written package: %v", err)
		}
		p.Signature, p.Namespace, p.Legacy = nil, edxml.Namespace, false
		for i := range p.Traces {
			msg2.Package.Traces[i].Timestamp = p.Traces[i].Timestamp
		}
		if !reflect.DeepEqual(msg2.Package, p) {
			t.Errorf("written and read back:\n got %+v\nwant %+v", *msg2.Package, *p)
		}
		for i := range got {
			if !bytes.Equal(got[i].Bytes(), again[i].Bytes()) {
				t.Errorf("attachment %d changed", i)
			}
		}
	}
}

// TestEnvelopeRoundTrip converts the golden package to the hub's
// envelope, checks it with the hub's rules, and back.
func TestEnvelopeRoundTrip(t *testing.T) {
	msg, _ := readFile(t, "new.edxml")
	p := msg.Package
	id := edxml.MessageID(p.Header.DocumentID, edxml.BusinessNew, "")
	env, err := p.Envelope(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &lienthongv1.Envelope{
		MessageId: id, Sender: "000.00.31.H53", Recipients: []string{"000.12.31.H53", "000.13.31.H53"},
		BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW, Number: "123", Notation: "UBND-VP",
		IssueDate: "2026-11-30", DocumentType: "Công văn", Subject: "V/v triển khai liên thông văn bản điện tử & báo cáo",
		Signer: "Nguyễn Văn An", Urgency: lienthongv1.Urgency_URGENCY_URGENT,
		SecurityLevel: lienthongv1.SecurityLevel_SECURITY_LEVEL_NORMAL, DueDate: "2026-12-15",
	}
	if env.GetMessageId() != want.MessageId || env.GetSender() != want.Sender || !reflect.DeepEqual(env.GetRecipients(), want.Recipients) ||
		env.GetBusinessType() != want.BusinessType || env.GetNumber() != want.Number || env.GetNotation() != want.Notation ||
		env.GetIssueDate() != want.IssueDate || env.GetDocumentType() != want.DocumentType || env.GetSubject() != want.Subject ||
		env.GetSigner() != want.Signer || env.GetUrgency() != want.Urgency || env.GetSecurityLevel() != want.SecurityLevel ||
		env.GetDueDate() != want.DueDate || len(env.GetFiles()) != 2 || env.GetFiles()[1].GetName() != "phu-luc.txt" {
		t.Errorf("envelope %v", env)
	}
	if err := envelope.Check(env, time.Date(2026, 12, 1, 9, 0, 0, 0, ict)); err != nil {
		t.Errorf("envelope.Check: %v", err)
	}
	back := edxml.FromEnvelope(env)
	p.Signature, p.Traces = nil, nil
	if !reflect.DeepEqual(back, p) {
		t.Errorf("FromEnvelope:\n got %+v\nwant %+v", *back, *p)
	}
}

func TestBusinessPackages(t *testing.T) {
	orig := edxml.MessageID("000.00.31.H53,2026/11/30,123/UBND-VP", edxml.BusinessNew, "")
	for _, c := range []struct {
		file string
		bt   lienthongv1.BusinessType
	}{
		{"revoke.edxml", lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE},
		{"update.edxml", lienthongv1.BusinessType_BUSINESS_TYPE_UPDATE},
		{"replace.edxml", lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE},
	} {
		t.Run(c.file, func(t *testing.T) {
			msg, _ := readFile(t, c.file)
			p := msg.Package
			env, err := p.Envelope(edxml.MessageID(p.Header.DocumentID, p.Business.DocType, "x"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if env.GetBusinessType() != c.bt || env.GetRelatedMessageId() != orig {
				t.Errorf("business type %v related %q, want %v %q", env.GetBusinessType(), env.GetRelatedMessageId(), c.bt, orig)
			}
			if err := envelope.Check(env, time.Date(2026, 12, 2, 9, 0, 0, 0, ict)); err != nil {
				t.Errorf("envelope.Check: %v", err)
			}
			if c.bt == lienthongv1.BusinessType_BUSINESS_TYPE_REPLACE {
				want := []edxml.Replacement{{DocumentID: "000.00.31.H53,2026/11/30,123/UBND-VP", OrganIDs: []string{"000.12.31.H53", "000.13.31.H53"}}}
				if !reflect.DeepEqual(p.Business.Replacements, want) {
					t.Errorf("replacements %+v", p.Business.Replacements)
				}
			}
		})
	}
}

func TestFromReceipt(t *testing.T) {
	msg, _ := readFile(t, "new.edxml")
	env, err := msg.Package.Envelope("6a1c7f43-0c39-4c1f-8d3e-1f6f8c1a2b3c", nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)
	st, err := edxml.FromReceipt(&lienthongv1.ReceiptBody{
		MessageId: env.GetMessageId(), Status: lienthongv1.Status_STATUS_RECALL_REQUESTED, Agency: "000.12.31.H53",
		Sender: "000.00.31.H53", Time: timestamppb.New(at),
	}, env)
	if err != nil {
		t.Fatal(err)
	}
	if st.Code != edxml.CodeRecallRequest || st.From.OrganID != "000.00.31.H53" || st.ResponseFor.DocumentID != "000.00.31.H53,2026/11/30,123/UBND-VP" ||
		!st.Timestamp.Equal(at) || st.Description != "nơi gửi đề nghị thu hồi" {
		t.Errorf("status %+v", st)
	}
	if _, err := edxml.FromReceipt(&lienthongv1.ReceiptBody{Status: lienthongv1.Status_STATUS_ACCEPTED}, env); err == nil {
		t.Error("FromReceipt(ACCEPTED) succeeded")
	}
}
