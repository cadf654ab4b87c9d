package lienthong

import "testing"

func TestParseCode(t *testing.T) {
	tests := []struct {
		in     string
		ok     bool
		level  int
		parent string
	}{
		{"000.00.00.H53", true, 1, ""},
		{"000.00.31.H53", true, 2, "000.00.00.H53"},
		{"000.12.31.H53", true, 3, "000.00.31.H53"},
		{"001.12.31.H53", true, 4, "000.12.31.H53"},
		{"000.12.00.H53", false, 0, ""},
		{"001.00.31.H53", false, 0, ""},
		{"00.00.31.H53", false, 0, ""},
		{"000.00.31.h53", false, 0, ""},
		{"000.00.31.H5", false, 0, ""},
		{"000.0a.31.H53", false, 0, ""},
		{"", false, 0, ""},
		{"000.00.31.H53.1", false, 0, ""},
	}
	for _, tt := range tests {
		c, err := ParseCode(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseCode(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if !tt.ok {
			if ErrorKind(err) != KindInvalid {
				t.Errorf("ParseCode(%q) kind = %v, want KindInvalid", tt.in, ErrorKind(err))
			}
			continue
		}
		if c.String() != tt.in {
			t.Errorf("String() = %q, want %q", c.String(), tt.in)
		}
		if c.Level() != tt.level {
			t.Errorf("%s Level() = %d, want %d", tt.in, c.Level(), tt.level)
		}
		p, ok := c.Parent()
		if got := map[bool]string{true: p.String(), false: ""}[ok]; got != tt.parent {
			t.Errorf("%s Parent() = %q, want %q", tt.in, got, tt.parent)
		}
	}
}

func TestIsUnderAndChild(t *testing.T) {
	prov := MustParseCode("000.00.00.H53")
	dist, err := prov.Child(31)
	if err != nil || dist.String() != "000.00.31.H53" {
		t.Fatalf("Child(31) = %v, %v", dist, err)
	}
	comm, err := dist.Child(12)
	if err != nil || comm.String() != "000.12.31.H53" {
		t.Fatalf("Child(12) = %v, %v", comm, err)
	}
	if !comm.IsUnder(prov) || !comm.IsUnder(dist) || dist.IsUnder(comm) || comm.IsUnder(comm) {
		t.Errorf("IsUnder relations wrong")
	}
	other := MustParseCode("000.12.32.H53")
	if other.IsUnder(dist) {
		t.Errorf("%s must not be under %s", other, dist)
	}
	if _, err := prov.Child(0); err == nil {
		t.Errorf("Child(0) must fail")
	}
}
