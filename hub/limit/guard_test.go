package limit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"
)

// stubTLS stands for the TLS credentials beneath Guard: its handshake
// waits for proceed (when set) and reports a peer with or without a
// client certificate.
type stubTLS struct {
	proceed chan struct{}
	cert    bool
}

func (s *stubTLS) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if s.proceed != nil {
		<-s.proceed
	}
	var st tls.ConnectionState
	if s.cert {
		st.PeerCertificates = []*x509.Certificate{{}}
	}
	return c, credentials.TLSInfo{State: st}, nil
}

func (s *stubTLS) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("server only")
}
func (s *stubTLS) Info() credentials.ProtocolInfo          { return credentials.ProtocolInfo{} }
func (s *stubTLS) Clone() credentials.TransportCredentials { c := *s; return &c }
func (s *stubTLS) OverrideServerName(string) error         { return nil }
func pipe(t *testing.T) net.Conn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a
}
func handshake(g credentials.TransportCredentials, c net.Conn) (net.Conn, error) {
	conn, _, err := g.ServerHandshake(c)
	return conn, err
}

// At most MaxHandshakes run at once; a connection that waits longer than
// HandshakeTimeout for its turn is closed.
func TestGuardQueuesHandshakes(t *testing.T) {
	inner := &stubTLS{proceed: make(chan struct{})}
	g := Guard(inner, Config{MaxHandshakes: 1, HandshakeTimeout: 20 * time.Millisecond, MaxAnonymousConns: -1}, nil)
	first := make(chan error, 1)
	go func() { _, err := handshake(g, pipe(t)); first <- err }()
	// The first holds the only slot until proceed; wait until it does.
	for len(g.(*guardedCreds).a.handshakes) == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := handshake(g, pipe(t)); !errors.Is(err, ErrHandshakeQueue) {
		t.Errorf("second handshake while the first runs: %v, want ErrHandshakeQueue", err)
	}
	close(inner.proceed)
	if err := <-first; err != nil {
		t.Errorf("first handshake: %v", err)
	}
	if _, err := handshake(g, pipe(t)); err != nil {
		t.Errorf("a handshake once the slot is free: %v", err)
	}
}

// Connections without a client certificate are capped, their slots freed
// on close; connections with one are never refused for it.
func TestGuardCapsAnonymous(t *testing.T) {
	anon := &stubTLS{}
	g := Guard(anon, Config{MaxAnonymousConns: 1, MaxHandshakes: -1}, nil)
	held, err := handshake(g, pipe(t))
	if err != nil {
		t.Fatalf("first certificate-less connection: %v", err)
	}
	if _, err := handshake(g, pipe(t)); !errors.Is(err, ErrAnonymousFull) {
		t.Errorf("second certificate-less connection: %v, want ErrAnonymousFull", err)
	}
	anon.cert = true
	if _, err := handshake(g, pipe(t)); err != nil {
		t.Errorf("a connection with a certificate while the cap is full: %v", err)
	}
	anon.cert = false
	held.Close()
	held.Close() // closing twice frees one slot
	if _, err := handshake(g, pipe(t)); err != nil {
		t.Errorf("certificate-less connection after one closed: %v", err)
	}
	if _, err := handshake(g, pipe(t)); !errors.Is(err, ErrAnonymousFull) {
		t.Errorf("and one more: %v, want ErrAnonymousFull", err)
	}
}

// A certificate-less connection that sends nothing for AnonymousIdle
// fails its read, which frees its slot.
func TestGuardAnonymousIdle(t *testing.T) {
	g := Guard(&stubTLS{}, Config{MaxAnonymousConns: 1, AnonymousIdle: 10 * time.Millisecond, MaxHandshakes: -1}, nil)
	a, b := net.Pipe()
	defer b.Close()
	conn, err := handshake(g, a)
	if err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := conn.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read of a silent connection: %v, want a timeout", err)
	}
	if _, err := handshake(g, pipe(t)); err != nil {
		t.Errorf("certificate-less connection after the idle one timed out: %v", err)
	}
}
