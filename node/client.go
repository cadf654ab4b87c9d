package node

import (
	"context"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/receipt"
)

// Client is a connection to the hub acting as one agency.
type Client struct {
	id   *Identity
	conn *grpc.ClientConn
	api  lienthongv1.ExchangeServiceClient
	// chunks holds upload buffers (*[]byte of SendChunkSize) between
	// uploads; see chunkBuf.
	chunks sync.Pool
	// receipts verifies the hub's receipts, remembering the hub
	// certificates whose chains it has built (receipt.Verifier).
	receipts receipt.Verifier
	// recv decodes Receive streams (see receiveCodec).
	recv receiveCodec
}

// Dial connects to the hub at addr (host:port) over mutual TLS. The
// connection is made lazily; the first call reports an unreachable hub.
func Dial(addr string, id *Identity, opts ...grpc.DialOption) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("hub address %q: %w", addr, err)
	}
	recv, err := newReceiveCodec()
	if err != nil {
		return nil, fmt.Errorf("connecting to hub %s: %w", addr, err)
	}
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(credentials.NewTLS(id.tlsConfig(host))),
		grpc.WithInitialWindowSize(StreamWindow), grpc.WithInitialConnWindowSize(ConnWindow)}, opts...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to hub %s: %w", addr, err)
	}
	return &Client{id: id, conn: conn, api: lienthongv1.NewExchangeServiceClient(conn), recv: recv}, nil
}

// Identity returns the agency the client acts as.
func (c *Client) Identity() *Identity { return c.id }

// API returns the raw gRPC client, for tools and tests that need calls
// the library does not wrap.
func (c *Client) API() lienthongv1.ExchangeServiceClient { return c.api }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Agencies lists the directory, below a code if under is not empty,
// reading every page (a national directory is over a hundred thousand
// agencies, more than one gRPC message holds).
func (c *Client) Agencies(ctx context.Context, under string) ([]*lienthongv1.Agency, error) {
	var out []*lienthongv1.Agency
	req := &lienthongv1.ListAgenciesRequest{Under: under}
	for {
		resp, err := c.api.ListAgencies(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetAgencies()...)
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return out, nil
		}
	}
}
