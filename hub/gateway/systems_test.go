package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong"
)

func TestSystems(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gateway")
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	s := &Systems{Dir: dir, Now: func() time.Time { return now }}

	// Nothing authenticates before any system exists (no key yet).
	if _, err := s.Authenticate("x", "y"); lienthong.ErrorKind(err) != lienthong.KindUnauthenticated {
		t.Fatalf("empty: %v", err)
	}
	a, secretA, err := s.Add("000.01.31.H53", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.ID, "000.01.31.H53.") || len(secretA) != 43 || !a.Created.Equal(now) {
		t.Fatalf("Add = %+v, secret %q", a, secretA)
	}
	b, secretB, err := s.Add("000.00.31.H53", "vpub-huyen")
	if err != nil || b.ID != "vpub-huyen" {
		t.Fatalf("Add with id = %+v, %v", b, err)
	}

	// The file holds MACs, never a secret, and is private.
	data, err := os.ReadFile(filepath.Join(dir, "systems.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), secretA) || strings.Contains(string(data), secretB) {
		t.Fatal("systems.json contains a secret")
	}
	for _, f := range []string{"systems.json", "hmac.key"} {
		if info, err := os.Stat(filepath.Join(dir, f)); err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, info.Mode(), err)
		}
	}

	// A second instance (the running hub) reads what the first wrote.
	served := &Systems{Dir: dir}
	for _, tc := range []struct {
		id, secret string
		agency     string
	}{
		{a.ID, secretA, "000.01.31.H53"},
		{b.ID, secretB, "000.00.31.H53"},
		{a.ID, secretB, ""},
		{"nobody", secretA, ""},
		{a.ID, "", ""},
	} {
		sys, err := served.Authenticate(tc.id, tc.secret)
		if tc.agency == "" {
			if lienthong.ErrorKind(err) != lienthong.KindUnauthenticated {
				t.Fatalf("Authenticate(%s, …) = %+v, %v; want refused", tc.id, sys, err)
			}
			continue
		}
		if err != nil || sys.Agency != tc.agency {
			t.Fatalf("Authenticate(%s) = %+v, %v", tc.id, sys, err)
		}
	}

	for _, tc := range []struct {
		agency, id string
		kind       lienthong.Kind
	}{
		{"000.00.31.H53", "vpub-huyen", lienthong.KindAlreadyExists},
		{"000.00.31.H53", "bad id/with slash", lienthong.KindInvalid},
	} {
		if _, _, err := s.Add(tc.agency, tc.id); lienthong.ErrorKind(err) != tc.kind {
			t.Fatalf("Add(%q) = %v, want kind %d", tc.id, err, tc.kind)
		}
	}

	// Revocation takes effect at the next request of the running hub.
	if _, err := s.Remove(a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := served.Authenticate(a.ID, secretA); lienthong.ErrorKind(err) != lienthong.KindUnauthenticated {
		t.Fatalf("after Remove: %v", err)
	}
	if _, err := s.Remove(a.ID); lienthong.ErrorKind(err) != lienthong.KindNotFound {
		t.Fatalf("second Remove: %v", err)
	}
	list, err := served.List()
	if err != nil || len(list) != 1 || list[0].ID != "vpub-huyen" {
		t.Fatalf("List = %+v, %v", list, err)
	}
}
