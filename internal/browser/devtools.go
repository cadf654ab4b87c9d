package browser

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// Tab is one page of a headless Chromium driven through the DevTools
// protocol, for tests that act as a user would: open a link, type, pick
// files, click, wait for what the page shows, take screenshots. DumpDOM
// and Screenshot above need only the command line; a Tab needs the
// protocol, spoken over a WebSocket with golang.org/x/net/websocket (a
// module the project already uses), so no other dependency.
//
// A Tab is safe for use by one goroutine at a time; Close ends the
// browser and its helpers.
type Tab struct {
	cmd     *exec.Cmd
	stop    context.CancelFunc
	profile string
	ws      *websocket.Conn
	session string // the page target's flat session id
	stderr  *bytes.Buffer

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan reply
	logs    []string // console messages and uncaught exceptions
	err     error    // why the reader stopped
	done    chan struct{}
}

type reply struct {
	Result json.RawMessage
	Err    *protocolError
}

type protocolError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    string `json:"data"`
}

func (e *protocolError) Error() string {
	return fmt.Sprintf("devtools: %s (%d) %s", e.Message, e.Code, e.Data)
}

// message is any message of the protocol: a command's reply (ID) or an
// event (Method).
type message struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *protocolError  `json:"error,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
}

// NewTab starts a headless Chromium with a fresh profile and opens one
// blank page of width×height CSS pixels.
func NewTab(ctx context.Context, width, height int) (*Tab, error) {
	path, err := Find()
	if err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "lienthong-chromium-")
	if err != nil {
		return nil, fmt.Errorf("creating a browser profile: %w", err)
	}
	t := &Tab{profile: profile, pending: map[int64]chan reply{}, done: make(chan struct{}), stderr: new(bytes.Buffer)}
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=" + profile,
		"--no-first-run", "--no-default-browser-check", "--disable-background-networking",
		"--disable-sync", "--disable-extensions", "--disable-component-update", "--disable-crash-reporter",
		"--hide-scrollbars", "--force-device-scale-factor=1",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1",
		"about:blank",
	}
	// The browser outlives the call that starts it: its life is the
	// Tab's, ended by Close (cancelling kills its process group).
	var procCtx context.Context
	procCtx, t.stop = context.WithCancel(context.Background())
	t.cmd = exec.CommandContext(procCtx, path, args...)
	t.cmd.Stderr = t.stderr
	ownGroup(t.cmd)
	if err := t.cmd.Start(); err != nil {
		t.stop()
		os.RemoveAll(profile)
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	if err := t.connect(ctx); err != nil {
		t.Close()
		return nil, err
	}
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := t.browserCall(ctx, "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Close()
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := t.browserCall(ctx, "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		t.Close()
		return nil, err
	}
	t.session = att.SessionID
	for _, c := range []struct {
		method string
		params map[string]any
	}{
		{"Runtime.enable", nil},
		{"Page.enable", nil},
		{"Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}},
	} {
		if err := t.Call(ctx, c.method, c.params, nil); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// connect waits for the browser to write its DevTools port and connects.
func (t *Tab) connect(ctx context.Context) error {
	file := filepath.Join(t.profile, "DevToolsActivePort")
	var endpoint string
	for endpoint == "" {
		if b, err := os.ReadFile(file); err == nil {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) == 2 {
				endpoint = "ws://127.0.0.1:" + strings.TrimSpace(lines[0]) + strings.TrimSpace(lines[1])
				break
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the browser's DevTools port: %w (stderr: %s)", ctx.Err(), excerpt(t.stderr.String()))
		case <-time.After(50 * time.Millisecond):
		}
	}
	cfg, err := websocket.NewConfig(endpoint, "http://127.0.0.1")
	if err != nil {
		return err
	}
	ws, err := cfg.DialContext(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the browser's DevTools at %s: %w", endpoint, err)
	}
	ws.MaxPayloadBytes = 64 << 20 // screenshots
	t.ws = ws
	go t.read()
	return nil
}

// read dispatches replies to their callers and keeps the page's console
// messages, until the connection ends.
func (t *Tab) read() {
	defer close(t.done)
	for {
		var m message
		if err := websocket.JSON.Receive(t.ws, &m); err != nil {
			t.mu.Lock()
			t.err = err
			for id, ch := range t.pending {
				close(ch)
				delete(t.pending, id)
			}
			t.mu.Unlock()
			return
		}
		if m.ID != 0 {
			t.mu.Lock()
			ch := t.pending[m.ID]
			delete(t.pending, m.ID)
			t.mu.Unlock()
			if ch != nil {
				ch <- reply{Result: m.Result, Err: m.Error}
			}
			continue
		}
		switch m.Method {
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string `json:"type"`
				Args []struct {
					Value       any    `json:"value"`
					Description string `json:"description"`
				} `json:"args"`
			}
			_ = json.Unmarshal(m.Params, &p)
			var parts []string
			for _, a := range p.Args {
				if a.Value != nil {
					parts = append(parts, fmt.Sprint(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			t.log("console." + p.Type + ": " + strings.Join(parts, " "))
		case "Runtime.exceptionThrown":
			var p struct {
				Details struct {
					Text      string `json:"text"`
					Exception struct {
						Description string `json:"description"`
					} `json:"exception"`
				} `json:"exceptionDetails"`
			}
			_ = json.Unmarshal(m.Params, &p)
			t.log("exception: " + p.Details.Text + " " + p.Details.Exception.Description)
		}
	}
}

func (t *Tab) log(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.logs) < 1000 {
		t.logs = append(t.logs, s)
	}
}

// Logs returns the page's console messages and uncaught exceptions so far.
func (t *Tab) Logs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.logs...)
}

// Call sends a command to the page and decodes its result into out (if
// not nil).
func (t *Tab) Call(ctx context.Context, method string, params, out any) error {
	return t.call(ctx, t.session, method, params, out)
}

func (t *Tab) browserCall(ctx context.Context, method string, params, out any) error {
	return t.call(ctx, "", method, params, out)
}

func (t *Tab) call(ctx context.Context, session, method string, params, out any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return err
	}
	if params == nil {
		raw = []byte("{}")
	}
	ch := make(chan reply, 1)
	t.mu.Lock()
	if t.err != nil {
		t.mu.Unlock()
		return fmt.Errorf("devtools %s: connection closed: %w", method, t.err)
	}
	t.nextID++
	id := t.nextID
	t.pending[id] = ch
	t.mu.Unlock()
	if err := websocket.JSON.Send(t.ws, message{ID: id, Method: method, Params: raw, SessionID: session}); err != nil {
		return fmt.Errorf("devtools %s: %w", method, err)
	}
	select {
	case <-ctx.Done():
		t.mu.Lock()
		delete(t.pending, id)
		t.mu.Unlock()
		return fmt.Errorf("devtools %s: %w", method, ctx.Err())
	case r, ok := <-ch:
		if !ok {
			return fmt.Errorf("devtools %s: the browser went away", method)
		}
		if r.Err != nil {
			return fmt.Errorf("%s: %w", method, r.Err)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	}
}

// Navigate loads url and waits until the new document has loaded.
func (t *Tab) Navigate(ctx context.Context, url string) error {
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := t.Call(ctx, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("loading %s: %s", url, nav.ErrorText)
	}
	return t.WaitFor(ctx, `document.readyState === "complete" && location.href !== "about:blank"`)
}

// Eval evaluates a JavaScript expression in the page, awaiting it if it
// is a promise, and decodes its value (JSON-serializable) into out.
func (t *Tab) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := t.Call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true, "userGesture": true}, &res); err != nil {
		return err
	}
	if res.Exception != nil {
		return fmt.Errorf("evaluating %.80q: %s %s", expr, res.Exception.Text, res.Exception.Exception.Description)
	}
	if out != nil && len(res.Result.Value) > 0 {
		return json.Unmarshal(res.Result.Value, out)
	}
	return nil
}

// WaitFor evaluates cond every 100 ms until it is true or ctx ends.
func (t *Tab) WaitFor(ctx context.Context, cond string) error {
	var last error
	for {
		var ok bool
		err := t.Eval(ctx, "!!("+cond+")", &ok)
		if err == nil && ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waiting for %s: %w (last: %v)", cond, ctx.Err(), last)
			}
			return fmt.Errorf("waiting for %s: %w", cond, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// SetFiles puts files (local paths) in the file input selector matches,
// as a user picking them would, and fires its change event.
func (t *Tab) SetFiles(ctx context.Context, selector string, paths ...string) error {
	var res struct {
		Result struct {
			ObjectID string `json:"objectId"`
		} `json:"result"`
	}
	if err := t.Call(ctx, "Runtime.evaluate", map[string]any{"expression": "document.querySelector(" + strconv.Quote(selector) + ")"}, &res); err != nil {
		return err
	}
	if res.Result.ObjectID == "" {
		return fmt.Errorf("no element %s", selector)
	}
	return t.Call(ctx, "DOM.setFileInputFiles", map[string]any{"files": paths, "objectId": res.Result.ObjectID}, nil)
}

// Screenshot writes a PNG of the viewport to path.
func (t *Tab) Screenshot(ctx context.Context, path string) error {
	var res struct {
		Data string `json:"data"`
	}
	if err := t.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &res); err != nil {
		return err
	}
	b, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		return fmt.Errorf("decoding the screenshot: %w", err)
	}
	if len(b) == 0 {
		return errors.New("the browser sent an empty screenshot")
	}
	return os.WriteFile(path, b, 0o644)
}

// Close ends the browser, its helpers and its profile.
func (t *Tab) Close() error {
	if t.ws != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = t.browserCall(ctx, "Browser.close", nil, nil)
		cancel()
		t.ws.Close()
		<-t.done
	}
	t.stop()
	_ = t.cmd.Wait()
	killGroup(t.cmd)
	return os.RemoveAll(t.profile)
}
