// Package limit bounds what one connection, one stream, one agency or a
// stranger without a certificate may hold on the hub, so that nobody can
// exhaust its descriptors, memory or temporary disk and lock the
// province's agencies out. Config holds every such limit with its default
// and its `lthub serve` flag; the hub applies them to its gRPC server
// (ServerOptions, Guard), its HTTP listeners and, through the
// exchange service, to each agency's streams (PerKey, Budget).
//
// The limits on a document's own size (number of files, bytes per file)
// are exchange.Limits: they judge one document, these guard the server.
package limit

import (
	"flag"
	"math"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Config is the hub's connection and stream limits. A zero field takes
// its default (Defaults); a negative one means no limit, where that makes
// sense (durations, counts).
type Config struct {
	// HandshakeTimeout bounds a new connection's TLS handshake and
	// HTTP/2 preface: a connection that opens and says nothing is closed
	// after it.
	HandshakeTimeout time.Duration
	// MaxHandshakes is how many TLS handshakes run at once; more wait
	// their turn (within HandshakeTimeout).
	MaxHandshakes int
	// KeepaliveTime is how long a connection may be silent before the hub
	// pings it, and KeepaliveTimeout how long it waits for the answer: a
	// node whose machine vanished loses its streams (and its share of the
	// per-agency caps) within their sum.
	KeepaliveTime    time.Duration
	KeepaliveTimeout time.Duration
	// KeepaliveMinTime is the shortest interval at which a client may ping;
	// one that pings more often is disconnected (keepalive enforcement).
	KeepaliveMinTime time.Duration
	// MaxConnectionIdle closes a connection that has had no stream for
	// this long; a node reconnects on its next call.
	MaxConnectionIdle time.Duration
	// MaxConnectionAge asks a connection to go away after this long (its
	// node reconnects, with a fresh TLS handshake), and
	// MaxConnectionAgeGrace is how long its streams may still run then.
	MaxConnectionAge      time.Duration
	MaxConnectionAgeGrace time.Duration
	// MaxStreamsPerConn is the number of concurrent calls one connection
	// may carry; a client queues the rest.
	MaxStreamsPerConn int
	// MaxAnonymousConns caps the connections without a client
	// certificate (health probes); over it a new one is closed right
	// after its TLS handshake. Agencies' connections never count here.
	MaxAnonymousConns int
	// AnonymousIdle closes a connection without a client certificate
	// that has sent nothing for this long.
	AnonymousIdle time.Duration
	// MaxSendsPerAgency and MaxReceivesPerAgency cap one agency's
	// concurrent Send and Receive streams; over them a new stream is
	// refused with ResourceExhausted.
	MaxSendsPerAgency    int
	MaxReceivesPerAgency int
	// SendIdle ends an upload that sends no message for this long with
	// DeadlineExceeded, removing what it had written.
	SendIdle time.Duration
	// MaxUploadBytes bounds the bytes all uploads in flight may write to
	// temporary files, counted by their declared sizes; an upload that
	// would go over it is refused with ResourceExhausted before it
	// writes anything. It must be at least the largest document allowed.
	MaxUploadBytes int64
	// Recheck is how often a waiting Receive stream re-checks its
	// caller's certificate and agency (also at once on a trust or
	// directory reload, and before each delivery).
	Recheck time.Duration
	// HTTPReadTimeout, HTTPWriteTimeout and HTTPIdleTimeout bound a
	// request's reading, its answer's writing and an idle keep-alive
	// connection on the dashboard listeners.
	HTTPReadTimeout  time.Duration
	HTTPWriteTimeout time.Duration
	HTTPIdleTimeout  time.Duration
}

// Defaults are limits a province can live with: hundreds of agencies,
// each with a node or two keeping a Receive stream open and sending a
// handful of documents at a time, documents up to 1 GiB, and monitoring
// probes without certificates.
func Defaults() Config {
	return Config{
		HandshakeTimeout:      10 * time.Second,
		MaxHandshakes:         16,
		KeepaliveTime:         time.Minute,
		KeepaliveTimeout:      20 * time.Second,
		KeepaliveMinTime:      20 * time.Second,
		MaxConnectionIdle:     5 * time.Minute,
		MaxConnectionAge:      24 * time.Hour,
		MaxConnectionAgeGrace: time.Hour,
		MaxStreamsPerConn:     100,
		MaxAnonymousConns:     256,
		AnonymousIdle:         10 * time.Second,
		MaxSendsPerAgency:     16,
		MaxReceivesPerAgency:  4,
		SendIdle:              30 * time.Second,
		MaxUploadBytes:        2 << 30,
		Recheck:               2 * time.Second,
		HTTPReadTimeout:       30 * time.Second,
		HTTPWriteTimeout:      2 * time.Minute,
		HTTPIdleTimeout:       time.Minute,
	}
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	d := Defaults()
	dur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	num := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	dur(&c.HandshakeTimeout, d.HandshakeTimeout)
	num(&c.MaxHandshakes, d.MaxHandshakes)
	dur(&c.KeepaliveTime, d.KeepaliveTime)
	dur(&c.KeepaliveTimeout, d.KeepaliveTimeout)
	dur(&c.KeepaliveMinTime, d.KeepaliveMinTime)
	dur(&c.MaxConnectionIdle, d.MaxConnectionIdle)
	dur(&c.MaxConnectionAge, d.MaxConnectionAge)
	dur(&c.MaxConnectionAgeGrace, d.MaxConnectionAgeGrace)
	num(&c.MaxStreamsPerConn, d.MaxStreamsPerConn)
	num(&c.MaxAnonymousConns, d.MaxAnonymousConns)
	dur(&c.AnonymousIdle, d.AnonymousIdle)
	num(&c.MaxSendsPerAgency, d.MaxSendsPerAgency)
	num(&c.MaxReceivesPerAgency, d.MaxReceivesPerAgency)
	dur(&c.SendIdle, d.SendIdle)
	if c.MaxUploadBytes == 0 {
		c.MaxUploadBytes = d.MaxUploadBytes
	}
	dur(&c.Recheck, d.Recheck)
	dur(&c.HTTPReadTimeout, d.HTTPReadTimeout)
	dur(&c.HTTPWriteTimeout, d.HTTPWriteTimeout)
	dur(&c.HTTPIdleTimeout, d.HTTPIdleTimeout)
	return c
}

// AddFlags registers a flag for every limit on fs, each defaulting to
// c's value.
func (c *Config) AddFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.HandshakeTimeout, "handshake-timeout", c.HandshakeTimeout, "thời gian tối đa cho bắt tay TLS của một kết nối mới")
	fs.IntVar(&c.MaxHandshakes, "max-handshakes", c.MaxHandshakes, "số bắt tay TLS chạy cùng lúc; các kết nối mới khác chờ lượt")
	fs.DurationVar(&c.KeepaliveTime, "keepalive-time", c.KeepaliveTime, "kết nối im lặng quá lâu thì trục gửi ping")
	fs.DurationVar(&c.KeepaliveTimeout, "keepalive-timeout", c.KeepaliveTimeout, "không trả lời ping trong thời gian này thì đóng kết nối")
	fs.DurationVar(&c.KeepaliveMinTime, "keepalive-min-time", c.KeepaliveMinTime, "khoảng cách tối thiểu giữa hai ping của máy trạm")
	fs.DurationVar(&c.MaxConnectionIdle, "max-connection-idle", c.MaxConnectionIdle, "đóng kết nối không có lời gọi nào trong thời gian này")
	fs.DurationVar(&c.MaxConnectionAge, "max-connection-age", c.MaxConnectionAge, "tuổi tối đa của một kết nối (âm: không giới hạn)")
	fs.DurationVar(&c.MaxConnectionAgeGrace, "max-connection-age-grace", c.MaxConnectionAgeGrace, "thời gian cho các lời gọi dở dang khi kết nối hết tuổi")
	fs.IntVar(&c.MaxStreamsPerConn, "max-streams-per-conn", c.MaxStreamsPerConn, "số lời gọi đồng thời tối đa trên một kết nối")
	fs.IntVar(&c.MaxAnonymousConns, "max-anonymous-conns", c.MaxAnonymousConns, "số kết nối không chứng thư số (kiểm tra sức khoẻ) tối đa")
	fs.DurationVar(&c.AnonymousIdle, "anonymous-idle", c.AnonymousIdle, "đóng kết nối không chứng thư số im lặng trong thời gian này")
	fs.IntVar(&c.MaxSendsPerAgency, "max-sends-per-agency", c.MaxSendsPerAgency, "số lượt gửi đồng thời tối đa của một cơ quan")
	fs.IntVar(&c.MaxReceivesPerAgency, "max-receives-per-agency", c.MaxReceivesPerAgency, "số luồng nhận đồng thời tối đa của một cơ quan")
	fs.DurationVar(&c.SendIdle, "send-idle", c.SendIdle, "huỷ lượt gửi không nhận được dữ liệu trong thời gian này")
	fs.Int64Var(&c.MaxUploadBytes, "max-upload-bytes", c.MaxUploadBytes, "tổng dung lượng tạm tối đa của các lượt gửi dở dang (byte, theo kích thước khai báo)")
	fs.DurationVar(&c.Recheck, "recheck", c.Recheck, "chu kỳ kiểm tra lại chứng thư và trạng thái cơ quan trên luồng nhận đang mở")
	fs.DurationVar(&c.HTTPReadTimeout, "http-read-timeout", c.HTTPReadTimeout, "thời gian tối đa đọc một yêu cầu HTTP")
	fs.DurationVar(&c.HTTPWriteTimeout, "http-write-timeout", c.HTTPWriteTimeout, "thời gian tối đa ghi một trả lời HTTP")
	fs.DurationVar(&c.HTTPIdleTimeout, "http-idle-timeout", c.HTTPIdleTimeout, "đóng kết nối HTTP nhàn rỗi sau thời gian này")
}

// ServerOptions are the gRPC server options for c's connection limits.
func (c Config) ServerOptions() []grpc.ServerOption {
	streams := uint32(math.MaxUint32)
	if c.MaxStreamsPerConn > 0 {
		streams = uint32(c.MaxStreamsPerConn)
	}
	opts := []grpc.ServerOption{
		grpc.MaxConcurrentStreams(streams),
		// Nodes may ping idle connections (a waiting Receive stream behind
		// a NAT), but not more often than KeepaliveMinTime.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: positive(c.KeepaliveMinTime), PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: positive(c.MaxConnectionIdle), MaxConnectionAge: positive(c.MaxConnectionAge),
			MaxConnectionAgeGrace: positive(c.MaxConnectionAgeGrace),
			Time:                  positive(c.KeepaliveTime), Timeout: positive(c.KeepaliveTimeout),
		}),
	}
	if c.HandshakeTimeout > 0 { // gRPC's zero would close every connection at once
		opts = append(opts, grpc.ConnectionTimeout(c.HandshakeTimeout))
	}
	return opts
}

// positive maps "no limit" (negative) to gRPC's zero, which means infinity
// for the connection idle and age and gRPC's own default for the
// keepalive times.
func positive(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}
