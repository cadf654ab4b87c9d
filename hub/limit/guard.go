package limit

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/credentials"
)

// ErrAnonymousFull is the handshake error of a connection without a
// client certificate refused because MaxAnonymousConns are open.
var ErrAnonymousFull = errors.New("too many connections without a client certificate (limit --max-anonymous-conns)")

// ErrHandshakeQueue is the handshake error of a connection that waited
// HandshakeTimeout for one of the MaxHandshakes slots.
var ErrHandshakeQueue = errors.New("TLS handshake not started in time: too many at once (limit --max-handshakes)")

// Guard wraps the hub's TLS credentials with c's limits on handshakes
// and on connections without a client certificate:
//
//   - at most MaxHandshakes run at once; the others wait (up to
//     HandshakeTimeout, then they are closed). A flood of handshakes then
//     takes a bounded share of the CPU, and the calls on agencies'
//     established connections are not starved by it;
//   - connections whose peer sent no client certificate (health probes,
//     or strangers) are counted: over MaxAnonymousConns a new one is
//     closed right after its handshake, and each is closed once it has
//     sent nothing for AnonymousIdle. Connections with a certificate are
//     not counted, so strangers never take an agency's place.
func Guard(inner credentials.TransportCredentials, c Config, log *slog.Logger) credentials.TransportCredentials {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &guardState{max: c.MaxAnonymousConns, idle: c.AnonymousIdle, wait: c.HandshakeTimeout, log: log}
	if c.MaxAnonymousConns >= 0 {
		a.slots = make(chan struct{}, c.MaxAnonymousConns)
	}
	if c.MaxHandshakes > 0 {
		a.handshakes = make(chan struct{}, c.MaxHandshakes)
	}
	return &guardedCreds{TransportCredentials: inner, a: a}
}

// guardState is the state the credentials and their clones share.
type guardState struct {
	max   int
	slots chan struct{} // a semaphore of max; nil when unbounded
	idle  time.Duration
	// handshakes is a semaphore of MaxHandshakes (nil: unbounded), wait
	// how long a connection may wait for it.
	handshakes chan struct{}
	wait       time.Duration
	log        *slog.Logger
	// refused and queued count the connections closed over the cap and
	// in the handshake queue, for the log.
	refused atomic.Int64
	queued  atomic.Int64
}

type guardedCreds struct {
	credentials.TransportCredentials
	a *guardState
}

func (c *guardedCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	a := c.a
	if a.handshakes != nil {
		var timeout <-chan time.Time
		if a.wait > 0 {
			t := time.NewTimer(a.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case a.handshakes <- struct{}{}:
		case <-timeout:
			raw.Close()
			if n := a.queued.Add(1); isPowerOfTen(n) {
				a.log.Warn("connection closed waiting for its TLS handshake: too many at once",
					"limit", "--max-handshakes", "max", cap(a.handshakes), "closed_so_far", n, "remote", raw.RemoteAddr().String())
			}
			return nil, nil, ErrHandshakeQueue
		}
	}
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if a.handshakes != nil {
		<-a.handshakes
	}
	if err != nil {
		return nil, nil, err
	}
	if ti, ok := info.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
		return conn, info, nil
	}
	release := func() {}
	if a.slots != nil {
		select {
		case a.slots <- struct{}{}:
			release = func() { <-a.slots }
		default:
			conn.Close()
			// Logged at 1, 10, 100… refusals: a flood shows without
			// flooding the log.
			if n := a.refused.Add(1); isPowerOfTen(n) {
				a.log.Warn("connection without a client certificate refused: limit reached",
					"limit", "--max-anonymous-conns", "max", a.max, "refused_so_far", n, "remote", raw.RemoteAddr().String())
			}
			return nil, nil, ErrAnonymousFull
		}
	}
	return &anonConn{Conn: conn, idle: a.idle, release: release}, info, nil
}

func (c *guardedCreds) Clone() credentials.TransportCredentials {
	return &guardedCreds{TransportCredentials: c.TransportCredentials.Clone(), a: c.a}
}

// anonConn is a connection without a client certificate: its reads time
// out after idle, which makes the gRPC transport close it. Closing it, or
// its first read or write error (after which a TLS connection is dead,
// and which gRPC may answer by closing the raw connection beneath),
// frees its slot.
type anonConn struct {
	net.Conn
	idle    time.Duration
	once    sync.Once
	release func()
}

func (c *anonConn) Read(p []byte) (int, error) {
	if c.idle > 0 {
		// Socket deadlines are wall-clock time by nature.
		if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(p)
	if err != nil {
		c.once.Do(c.release)
	}
	return n, err
}

func (c *anonConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil {
		c.once.Do(c.release)
	}
	return n, err
}

func (c *anonConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

func isPowerOfTen(n int64) bool {
	for n >= 10 && n%10 == 0 {
		n /= 10
	}
	return n == 1
}
