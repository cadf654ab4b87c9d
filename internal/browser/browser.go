// Package browser drives a headless Chromium from tests, so that pages the
// hub serves can be checked as a real browser renders them: the DOM after
// parsing (DumpDOM) and a picture of the page (Screenshot).
//
// DumpDOM and Screenshot run the browser's command line, to need nothing
// beyond Debian's chromium package (apt-get install chromium); each call
// starts a fresh browser with a throwaway profile and waits for it to exit.
// Tab (devtools.go) drives a page through the DevTools protocol, for tests
// that act as a user: type, pick files, click, wait for what the page shows.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// names are the commands tried by Find, in order.
var names = []string{"chromium", "chromium-browser", "google-chrome"}

// ErrNotFound reports that no Chromium is installed.
var ErrNotFound = errors.New("no chromium, chromium-browser or google-chrome on PATH: install Debian's chromium: apt-get install chromium")

// Find returns the path of the first Chromium found on PATH.
func Find() (path string, err error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// DumpDOM loads url and returns the document as serialized after parsing
// and up to five seconds of (virtual) time for the page to settle.
func DumpDOM(ctx context.Context, url string) (string, error) {
	out, err := run(ctx, "--virtual-time-budget=5000", "--dump-dom", url)
	if err != nil {
		return "", fmt.Errorf("dumping the DOM of %s: %w", url, err)
	}
	return out, nil
}

// Screenshot loads url in a window of width×height CSS pixels (at a
// device scale of 1, so the PNG has that size) and writes a PNG of the
// viewport to path.
func Screenshot(ctx context.Context, url, path string, width, height int) error {
	if width <= 0 || height <= 0 {
		return fmt.Errorf("screenshot of %s: window size %dx%d must be positive", url, width, height)
	}
	// Chromium reports success even when it could not write the file, so
	// a stale file must not pass for a new one.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("screenshot of %s: %w", url, err)
	}
	_, err := run(ctx, "--virtual-time-budget=5000", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--screenshot="+path, url)
	if err != nil {
		return fmt.Errorf("screenshot of %s: %w", url, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("screenshot of %s: chromium wrote no file: %w", url, err)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("screenshot of %s: chromium wrote an empty file %s", url, path)
	}
	return nil
}

// waitDelay bounds how long a run waits, after the browser is gone, for
// helpers that still hold its output pipes.
const waitDelay = 5 * time.Second

// run starts the browser headless with a fresh profile, extra args last,
// and returns its standard output.
func run(ctx context.Context, args ...string) (string, error) {
	path, err := Find()
	if err != nil {
		return "", err
	}
	profile, err := os.MkdirTemp("", "lienthong-chromium-")
	if err != nil {
		return "", fmt.Errorf("creating a browser profile: %w", err)
	}
	defer os.RemoveAll(profile)

	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir=" + profile,
		// A test browser must not talk to Google's services: it would be
		// slow offline and it is not what is being tested.
		"--no-first-run", "--no-default-browser-check", "--disable-background-networking",
		"--disable-sync", "--disable-extensions", "--disable-component-update", "--disable-crash-reporter",
	}
	cmd := exec.CommandContext(ctx, path, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = waitDelay
	// Chromium forks renderer and helper processes; they run in their own
	// process group so that a cancelled or finished run leaves none behind.
	ownGroup(cmd)
	err = cmd.Run()
	killGroup(cmd)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err() // "signal: killed" would hide why
		}
		return "", fmt.Errorf("%s: %w (stderr: %s)", path, err, excerpt(stderr.String()))
	}
	return stdout.String(), nil
}

// excerpt returns the last lines of a browser's stderr that say something:
// Chromium logs every failed D-Bus connection, which explains nothing in a
// container, and Debian's launcher script complains about its own test.
func excerpt(stderr string) string {
	var keep []string
	for line := range strings.Lines(stderr) {
		line = strings.TrimSpace(line)
		if line == "" || strings.Contains(line, ":ERROR:dbus/") || strings.Contains(line, "unexpected operator") {
			continue
		}
		keep = append(keep, line)
	}
	if len(keep) > 8 {
		keep = keep[len(keep)-8:]
	}
	s := strings.Join(keep, " | ")
	if len(s) > 1500 {
		s = "…" + s[len(s)-1500:]
	}
	if s == "" {
		return "empty"
	}
	return s
}
