package nodecli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// run runs ltnode with an empty environment.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	rc := m.Run(context.Background(), args)
	return rc, out.String(), errb.String()
}

// Help is asked for, not a mistake: every verb's --help (and -h, and
// `ltnode help VERB`) exits 0 and prints on stdout the verb's positional
// arguments, its flags (--json wherever it prints) and the global flags.
func TestVerbHelp(t *testing.T) {
	for verb, synopsis := range verbUsage {
		first, _, _ := strings.Cut(synopsis, "\n")
		for _, args := range [][]string{{verb, "--help"}, {verb, "-h"}, {"help", verb}, {"--hub", "127.0.0.1:1", verb, "IN.pdf", "--help"}} {
			rc, out, errs := run(t, args...)
			if rc != 0 || errs != "" {
				t.Errorf("ltnode %s: exit %d, stderr %q", strings.Join(args, " "), rc, errs)
				continue
			}
			for _, want := range []string{"ltnode [tham số chung] " + first, "-json", "--hub HOST:PORT", "--id D/agencies/CODE", "--db FILE"} {
				if !strings.Contains(out, want) {
					t.Errorf("ltnode %s: help lacks %q:\n%s", strings.Join(args, " "), want, out)
				}
			}
		}
	}
	// The positional arguments of the verbs that take some.
	for verb, want := range map[string]string{"status": "MESSAGE_ID received|rejected", "track": "MESSAGE_ID", "sign": "IN.pdf OUT.pdf",
		"verify": "F.pdf", "ltv": "IN.pdf OUT.pdf", "register": "[sent|received|outbox|refused]"} {
		if _, out, _ := run(t, verb, "--help"); !strings.Contains(out, verb+" "+want) {
			t.Errorf("%s --help lacks %q:\n%s", verb, want, out)
		}
	}
}

func TestTopLevelHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		rc, out, errs := run(t, args...)
		if rc != 0 || errs != "" || !strings.Contains(out, "Lệnh / verbs:") || !strings.Contains(out, "+07:00") {
			t.Errorf("ltnode %v: exit %d, stdout %q, stderr %q", args, rc, out, errs)
		}
	}
	// Mistakes still exit 2, with the usage on stderr.
	for _, args := range [][]string{{}, {"bogus"}, {"send", "--bogus"}, {"track"}, {"--bogus"},
		{"send", "--to", "000.00.31.H53", "--file", "a.pdf", "--number", "1", "--notation", "UBND", "--subject", "S", "--sign", "key.pem"}} {
		rc, out, errs := run(t, args...)
		if rc != 2 || out != "" || errs == "" {
			t.Errorf("ltnode %v: exit %d, stdout %q, stderr %q", args, rc, out, errs)
		}
	}
}
