package e2e

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/hub/hubcli"
	"github.com/lienthong/lienthong/node/nodecli"
)

// docs/configuration.md names every flag of lthub serve, ltnode run and
// ltnode's own flags, as `--name`: the reference cannot fall behind.
func TestConfigurationReferenceComplete(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	must(t, err)
	flagLine := regexp.MustCompile(`(?m)^  -([a-z0-9][a-z0-9-]*)`)
	flagsOf := func(run func(stderr *bytes.Buffer)) []string {
		var errb bytes.Buffer
		run(&errb)
		var out []string
		for _, m := range flagLine.FindAllStringSubmatch(errb.String(), -1) {
			out = append(out, m[1])
		}
		if len(out) == 0 {
			t.Fatalf("no flags in:\n%s", errb.String())
		}
		return out
	}
	ctx := context.Background()
	lists := map[string][]string{
		"lthub serve": flagsOf(func(e *bytes.Buffer) {
			(&hubcli.Main{Stdout: e, Stderr: e}).Run(ctx, []string{"serve", "-h"})
		}),
		"ltnode run": flagsOf(func(e *bytes.Buffer) {
			(&nodecli.Main{Stdout: e, Stderr: e, Getenv: func(string) string { return "" }}).Run(ctx, []string{"run", "-h"})
		}),
	}
	for cmd, flags := range lists {
		for _, f := range flags {
			if !strings.Contains(string(doc), "`--"+f+"`") {
				t.Errorf("docs/configuration.md does not describe %s --%s", cmd, f)
			}
		}
	}
	for _, f := range []string{"--hub", "--id", "--db", "LTNODE_HUB", "LTNODE_ID", "LTNODE_DB"} {
		if !strings.Contains(string(doc), "`"+f+"`") {
			t.Errorf("docs/configuration.md does not describe ltnode %s", f)
		}
	}
}
