package termsafe

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestStrip(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain Vietnamese", "Đã ký hợp lệ\tsố 12\n", "Đã ký hợp lệ\tsố 12\n"},
		{"colour (CSI SGR)", "\x1b[32mĐã ký hợp lệ\x1b[0m", "Đã ký hợp lệ"},
		{"cursor movement", "a\x1b[2Ab\x1b[10;20Hc", "abc"},
		{"window title (OSC with BEL)", "x\x1b]0;pwned\x07y", "xy"},
		{"hyperlink (OSC with ST)", "\x1b]8;;http://evil\x1b\\lời\x1b]8;;\x1b\\", "lời"},
		{"two-character escape", "a\x1bcb", "ab"},
		{"charset designation", "a\x1b(Bb", "ab"},
		{"C1 CSI", "a\u009b31mb", "ab"},
		{"carriage return rewrites a line", "xấu\rtốt", "xấutốt"},
		{"NUL, bell, backspace, DEL", "a\x00b\x07c\x08d\x7f", "abcd"},
		{"right-to-left override", "hợp lệ\u202efdp.exe", "hợp lệfdp.exe"},
		{"isolates and marks", "\u2066a\u2069\u200e\u200f\u061cb", "ab"},
		{"invalid UTF-8", "a\xffb", "a\ufffdb"},
		{"unterminated OSC ends at the newline", "x\x1b]0;title\nnext line\n", "x\nnext line\n"},
		{"unterminated CSI at the end", "x\x1b[", "x"},
	}
	for _, tt := range tests {
		if got := Strip(tt.in); got != tt.want {
			t.Errorf("%s: Strip(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// Sequences and characters split across writes are still recognised.
func TestWriterAcrossWrites(t *testing.T) {
	in := "trước\x1b[1;32mĐã ký hợp lệ\x1b[0m\u202e sau\n"
	for split := 0; split <= len(in); split++ {
		var b bytes.Buffer
		w := NewWriter(&b)
		w.Write([]byte(in[:split]))
		w.Write([]byte(in[split:]))
		w.Close()
		if got, want := b.String(), "trướcĐã ký hợp lệ sau\n"; got != want {
			t.Fatalf("split at %d: %q, want %q", split, got, want)
		}
	}
}

func TestEscapeJSON(t *testing.T) {
	in := map[string]string{"subject": "a\x1b[31m\u202eb\u0085c\u2066d đ"}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := EscapeJSON(raw)
	for _, r := range string(out) {
		if Unsafe(r) {
			t.Fatalf("EscapeJSON left U+%04X in %s", r, out)
		}
	}
	if !strings.Contains(string(out), `\u202e`) {
		t.Errorf("EscapeJSON(%s) = %s, want the override escaped", raw, out)
	}
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil || back["subject"] != in["subject"] {
		t.Errorf("EscapeJSON changed the value: %q, %v", back["subject"], err)
	}
}
