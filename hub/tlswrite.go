package hub

import (
	"net"
	"sync"

	"google.golang.org/grpc/credentials"
)

// WriteBufferSize is how many bytes the gRPC server gathers before it
// writes to a connection: what one write(2) carries (coalesceWrites). A
// delivery is ~1 MB (a 200 KB document to ~4.5 recipients); gRPC's
// default, 32 KiB, made that 64 system calls of one TLS record each.
// 64 KiB is one segment on loopback (MTU 65536). Larger buffers saved
// little more CPU (BenchmarkTLSWrite: ~1.24 ms per MiB written and read
// record by record, 1.16 gathered by 32 KiB, 1.09 by 64 KiB, 1.04 by 256
// KiB) but a connection blocked on a slow reader holds its buffer and
// the gathered copy: with 256 KiB the hub's peak RSS in ltbench was 25-40
// MB above the 32 KiB default's, with 64 KiB about 10 MB (at higher
// throughput, on a busy machine). gRPC shares write buffers among
// connections: one holds a buffer only while it writes.
const WriteBufferSize = 64 << 10

// coalesceWrites wraps TLS server credentials so that what one Write of
// the TLS connection produces goes to the socket in one write(2).
// crypto/tls writes each record (at most 16 KiB) to the socket on its own:
// a delivery's megabyte was ~64 system calls, each a trip through the
// loopback or network stack, and they were the largest part of the
// hub's writer goroutine. Gathered, it is one per gRPC flush (up to
// WriteBufferSize and its records' framing). size is the most gRPC
// writes at once (its write buffer's size).
func coalesceWrites(inner credentials.TransportCredentials, size int) credentials.TransportCredentials {
	// Gathering buffers are needed only while a connection writes: they
	// are shared by all, and by the credentials' clones. A record adds
	// at most 29 bytes to 16 KiB.
	bufs := &sync.Pool{New: func() any { b := make([]byte, 0, size+size/16); return &b }}
	return &coalescingCreds{TransportCredentials: inner, bufs: bufs, size: size}
}

type coalescingCreds struct {
	credentials.TransportCredentials
	bufs *sync.Pool
	size int
}

func (c *coalescingCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	g := &gatherConn{Conn: raw}
	conn, info, err := c.TransportCredentials.ServerHandshake(g)
	if err != nil {
		return nil, nil, err
	}
	return &flushConn{Conn: conn, raw: g, bufs: c.bufs, size: c.size}, info, nil
}

func (c *coalescingCreds) Clone() credentials.TransportCredentials {
	return &coalescingCreds{TransportCredentials: c.TransportCredentials.Clone(), bufs: c.bufs, size: c.size}
}

// gatherConn is the socket beneath the TLS connection. While gathering,
// the records the TLS layer writes are appended to pending instead of
// written. mu keeps the socket's bytes in the order the TLS layer wrote
// them: a record written by another goroutine (an alert, a key update)
// waits for the gathered ones to go first, or joins them.
type gatherConn struct {
	net.Conn
	mu        sync.Mutex
	gathering bool
	pending   []byte
}

func (c *gatherConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gathering {
		c.pending = append(c.pending, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *gatherConn) gather(buf []byte) {
	c.mu.Lock()
	c.gathering, c.pending = true, buf[:0]
	c.mu.Unlock()
}

// flush writes what was gathered and stops gathering; it returns the
// buffer for reuse.
func (c *gatherConn) flush() ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gathering = false
	buf := c.pending
	c.pending = nil
	var err error
	if len(buf) > 0 {
		_, err = c.Conn.Write(buf)
	}
	return buf, err
}

// flushConn is the TLS connection gRPC writes to: each Write gathers its
// records and writes them at once.
type flushConn struct {
	net.Conn
	raw  *gatherConn
	bufs *sync.Pool
	size int
}

func (c *flushConn) Write(p []byte) (int, error) {
	bp := c.bufs.Get().(*[]byte)
	c.raw.gather(*bp)
	n, err := c.Conn.Write(p)
	buf, ferr := c.raw.flush()
	if cap(buf) <= 2*c.size { // an oversized one is left to the GC
		*bp = buf[:0]
		c.bufs.Put(bp)
	}
	if err == nil && ferr != nil {
		// The TLS layer counted the records written: the connection is
		// broken all the same.
		n, err = 0, ferr
	}
	return n, err
}
