package hub

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"
)

// countingConn counts the writes to the socket.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// Each Write of the gathering credentials' connection reaches the socket
// in one write, whatever the number of TLS records it makes, and the peer
// reads exactly the bytes written, in order (TLS 1.2 and 1.3).
func TestCoalescedWritesOneSyscallEach(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			cert, pool := selfSigned(t)
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer lis.Close()
			creds := coalesceWrites(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version}), WriteBufferSize)

			data := make([]byte, 3*WriteBufferSize+12345) // 4 writes, ~14 records
			rand.Read(data)
			got := make(chan []byte, 1)
			go func() {
				c, err := tls.Dial("tcp", lis.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "hub.test", NextProtos: []string{"h2"}})
				if err != nil {
					got <- nil
					return
				}
				defer c.Close()
				b, _ := io.ReadAll(c)
				got <- b
			}()
			raw, err := lis.Accept()
			if err != nil {
				t.Fatal(err)
			}
			counting := &countingConn{Conn: raw}
			conn, _, err := creds.ServerHandshake(counting)
			if err != nil {
				t.Fatal(err)
			}
			before := counting.writes.Load()
			calls := 0
			for rest := data; len(rest) > 0; calls++ {
				n := min(len(rest), WriteBufferSize)
				if w, err := conn.Write(rest[:n]); err != nil || w != n {
					t.Fatalf("Write = %d, %v; want %d", w, err, n)
				}
				rest = rest[n:]
			}
			if writes := counting.writes.Load() - before; writes != int64(calls) {
				t.Errorf("%d socket writes for %d Writes, want one each", writes, calls)
			}
			conn.Close()
			select {
			case b := <-got:
				if !bytes.Equal(b, data) {
					t.Errorf("peer read %d bytes, not the %d written", len(b), len(data))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("peer did not finish reading")
			}
		})
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) { return selfSignedTB(t) }

func selfSignedTB(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub.test"}, DNSNames: []string{"hub.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// BenchmarkTLSWrite measures writing a delivery's bytes (1 MiB, in gRPC
// flushes of WriteBufferSize) over TLS on loopback, with records written
// one by one (plain) and gathered; the reader runs in this process too.
func BenchmarkTLSWrite(b *testing.B) {
	for _, tc := range []struct {
		name   string
		gather bool
		flush  int
	}{{"plain", false, WriteBufferSize}, {"gathered", true, WriteBufferSize}, {"gathered-32K", true, 32 << 10}, {"gathered-256K", true, 256 << 10}} {
		b.Run(tc.name, func(b *testing.B) {
			cert, pool := selfSignedTB(b)
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer lis.Close()
			creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})
			if tc.gather {
				creds = coalesceWrites(creds, tc.flush)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := tls.Dial("tcp", lis.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "hub.test", NextProtos: []string{"h2"}})
				if err != nil {
					return
				}
				defer c.Close()
				io.Copy(io.Discard, c)
			}()
			raw, err := lis.Accept()
			if err != nil {
				b.Fatal(err)
			}
			conn, _, err := creds.ServerHandshake(raw)
			if err != nil {
				b.Fatal(err)
			}
			data := make([]byte, tc.flush)
			n := (1 << 20) / tc.flush
			b.SetBytes(int64(n * len(data)))
			cpu0 := cpuTime()
			for b.Loop() {
				for range n {
					if _, err := conn.Write(data); err != nil {
						b.Fatal(err)
					}
				}
			}
			conn.Close()
			<-done
			// Wall time is shared with whatever else runs; the CPU of the
			// process (writer and reader) is what gathering changes.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
