package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/exchange"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/envsig"
	"github.com/lienthong/lienthong/signing/pki"
)

// rawSend sends hand-made messages on a Send stream and returns the
// outcome, so tests can send what no well-behaved node would.
func rawSend(ctx context.Context, api lienthongv1.ExchangeServiceClient, msgs ...*lienthongv1.SendRequest) (*lienthongv1.SendResponse, error) {
	stream, err := api.Send(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if err := stream.Send(m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}

func envMsg(s *lienthongv1.SignedEnvelope) *lienthongv1.SendRequest {
	return &lienthongv1.SendRequest{Part: &lienthongv1.SendRequest_Envelope{Envelope: s}}
}

func chunkMsg(i uint32, data []byte) *lienthongv1.SendRequest {
	return &lienthongv1.SendRequest{Part: &lienthongv1.SendRequest_Chunk{Chunk: &lienthongv1.FileChunk{FileIndex: i, Data: data}}}
}

// signEnv serializes env and signs it with the agency's key.
func signEnv(t testing.TB, id *node.Identity, env *lienthongv1.Envelope) *lienthongv1.SignedEnvelope {
	t.Helper()
	raw, err := proto.Marshal(env)
	must(t, err)
	sig, err := envsig.Sign(id.Signer, raw)
	must(t, err)
	return &lienthongv1.SignedEnvelope{Envelope: raw, Signature: sig}
}

// goodEnvelope is a valid envelope for one file with content data.
func goodEnvelope(sender string, data []byte, to ...string) *lienthongv1.Envelope {
	sum := sha256.Sum256(data)
	return &lienthongv1.Envelope{
		MessageId: uuid.NewString(), Sender: sender, Recipients: to,
		BusinessType: lienthongv1.BusinessType_BUSINESS_TYPE_NEW, Number: "7", Notation: "UBND-VP", Subject: "Thử",
		IssueDate: time.Now().In(lienthong.Zone()).Format(time.DateOnly),
		Urgency:   lienthongv1.Urgency_URGENCY_NORMAL, SecurityLevel: lienthongv1.SecurityLevel_SECURITY_LEVEL_NORMAL,
		Files: []*lienthongv1.FileInfo{{Name: "a.pdf", MediaType: "application/pdf", Size: int64(len(data)), Sha256: sum[:]}},
	}
}

// storeIsEmpty asserts the hub stored nothing: no document, no queue
// entry, no blob, no temporary file.
func storeIsEmpty(t *testing.T, h *runningHub, after string) {
	t.Helper()
	st, err := h.Store().Stats(context.Background())
	must(t, err)
	if st.Documents != 0 || st.Pending != 0 || st.Blobs != 0 || st.TmpFiles != 0 {
		t.Errorf("after %s the store holds %+v, want nothing", after, st)
	}
}

// Every refusal gets its precise gRPC code and leaves nothing in the store.
func TestRefusalsLeaveNothing(t *testing.T) {
	dir := initHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := hub.Open(ctx, hub.Config{Dir: dir, Listen: "127.0.0.1:0",
		Limits: exchange.Limits{MaxFiles: 3, MaxFileSize: 1 << 20, MaxDocumentSize: 2 << 20}})
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	rh := &runningHub{Hub: h, dir: dir}

	// A suspended recipient and a suspended sender.
	agencies, err := h.Store().Agencies(ctx)
	must(t, err)
	for _, a := range agencies {
		if a.GetCode() == commune3 || a.GetCode() == commune2 {
			a.Status = lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED
			must(t, h.Store().PutAgencies(ctx, []*lienthongv1.Agency{a}))
		}
	}
	must(t, h.ReloadDirectory(ctx))

	c := client(t, h.Addr(), dir, commune)
	id := c.Identity()
	other, err := node.LoadIdentity(provision.Layout{Dir: dir}.Agency(commune2))
	must(t, err)
	data := []byte("%PDF-1.4\n% test document\n%%EOF\n")
	big := make([]byte, 1<<20+1)

	tests := []struct {
		name string
		msgs func() []*lienthongv1.SendRequest
		code codes.Code
	}{
		{"unknown recipient", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(commune, data, "000.09.31.H53"))), chunkMsg(0, data)}
		}, codes.NotFound},
		{"recipient outside the province", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(commune, data, "000.00.31.H54"))), chunkMsg(0, data)}
		}, codes.NotFound},
		{"malformed recipient code", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(commune, data, "31.H53"))), chunkMsg(0, data)}
		}, codes.InvalidArgument},
		{"suspended recipient", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(commune, data, district, commune3))), chunkMsg(0, data)}
		}, codes.FailedPrecondition},
		{"empty group", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(commune, data, "unit:000.00.31.H53"))), chunkMsg(0, data)}
		}, codes.InvalidArgument},
		{"sender is another agency", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(district, data, province))), chunkMsg(0, data)}
		}, codes.PermissionDenied},
		{"envelope signed by another agency's key", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, other, goodEnvelope(commune, data, district))), chunkMsg(0, data)}
		}, codes.InvalidArgument},
		{"hash mismatch", func() []*lienthongv1.SendRequest {
			bad := append([]byte(nil), data...)
			bad[3] ^= 1
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(commune, data, district))), chunkMsg(0, bad)}
		}, codes.InvalidArgument},
		{"fewer bytes than declared", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(commune, data, district))), chunkMsg(0, data[:10])}
		}, codes.InvalidArgument},
		{"more bytes than declared", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(commune, data, district))), chunkMsg(0, data), chunkMsg(0, data)}
		}, codes.InvalidArgument},
		{"oversize file", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(commune, big, district))), chunkMsg(0, big)}
		}, codes.ResourceExhausted},
		{"too many files", func() []*lienthongv1.SendRequest {
			env := goodEnvelope(commune, data, district)
			for _, n := range []string{"b.pdf", "c.pdf", "d.pdf"} {
				f := proto.Clone(env.Files[0]).(*lienthongv1.FileInfo)
				f.Name = n
				env.Files = append(env.Files, f)
			}
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, env))}
		}, codes.ResourceExhausted},
		{"empty envelope", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(&lienthongv1.SignedEnvelope{})}
		}, codes.InvalidArgument},
		{"envelope without files", func() []*lienthongv1.SendRequest {
			env := goodEnvelope(commune, data, district)
			env.Files = nil
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, env))}
		}, codes.InvalidArgument},
		{"envelope without subject", func() []*lienthongv1.SendRequest {
			env := goodEnvelope(commune, data, district)
			env.Subject = ""
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, env)), chunkMsg(0, data)}
		}, codes.InvalidArgument},
		{"message id not a UUID", func() []*lienthongv1.SendRequest {
			env := goodEnvelope(commune, data, district)
			env.MessageId = "123"
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, env)), chunkMsg(0, data)}
		}, codes.InvalidArgument},
		{"secret document", func() []*lienthongv1.SendRequest {
			env := goodEnvelope(commune, data, district)
			env.SecurityLevel = lienthongv1.SecurityLevel_SECURITY_LEVEL_SECRET
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, env)), chunkMsg(0, data)}
		}, codes.FailedPrecondition},
		{"malformed envelope bytes", func() []*lienthongv1.SendRequest {
			garbage := []byte{0xff, 0xff, 0xff, 0x0f, 0x01}
			sig, _ := envsig.Sign(id.Signer, garbage)
			return []*lienthongv1.SendRequest{envMsg(&lienthongv1.SignedEnvelope{Envelope: garbage, Signature: sig})}
		}, codes.InvalidArgument},
		{"chunk before envelope", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{chunkMsg(0, data)}
		}, codes.InvalidArgument},
		{"envelope twice", func() []*lienthongv1.SendRequest {
			s := signEnv(t, id, goodEnvelope(commune, data, district))
			return []*lienthongv1.SendRequest{envMsg(s), chunkMsg(0, data[:5]), envMsg(s)}
		}, codes.InvalidArgument},
		{"chunk for a file not declared", func() []*lienthongv1.SendRequest {
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, goodEnvelope(commune, data, district))), chunkMsg(1, data)}
		}, codes.InvalidArgument},
		{"revoke of a message that does not exist", func() []*lienthongv1.SendRequest {
			env := goodEnvelope(commune, data, district)
			env.BusinessType = lienthongv1.BusinessType_BUSINESS_TYPE_REVOKE
			env.RelatedMessageId = uuid.NewString()
			return []*lienthongv1.SendRequest{envMsg(signEnv(t, id, env)), chunkMsg(0, data)}
		}, codes.NotFound},
		{"empty stream", func() []*lienthongv1.SendRequest { return nil }, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rawSend(ctx, c.API(), tt.msgs()...)
			st := status.Convert(err)
			if st.Code() != tt.code {
				t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), tt.code)
			}
			if st.Message() == "" || st.Code() == codes.Internal {
				t.Errorf("message %q is not one a clerk can act on", st.Message())
			}
			storeIsEmpty(t, rh, tt.name)
		})
	}

	t.Run("suspended sender", func(t *testing.T) {
		c2 := client(t, h.Addr(), dir, commune2)
		_, err := rawSend(ctx, c2.API(), envMsg(signEnv(t, other, goodEnvelope(commune2, data, district))), chunkMsg(0, data))
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("code = %v, want PermissionDenied", err)
		}
		storeIsEmpty(t, rh, "suspended sender")
	})

	t.Run("reading another agency's inbox", func(t *testing.T) {
		stream, err := c.API().Receive(ctx, &lienthongv1.ReceiveRequest{Agency: district})
		must(t, err)
		if _, err := stream.Recv(); status.Code(err) != codes.PermissionDenied {
			t.Fatalf("Receive as %s for %s: %v, want PermissionDenied", commune, district, err)
		}
	})

	t.Run("acking another agency's delivery", func(t *testing.T) {
		if _, err := c.API().Ack(ctx, &lienthongv1.AckRequest{MessageId: uuid.NewString()}); status.Code(err) != codes.NotFound {
			t.Fatalf("Ack: %v, want NotFound", err)
		}
	})

	t.Run("no client certificate", func(t *testing.T) {
		pool := x509.NewCertPool()
		roots, err := pki.LoadCertificates(provision.Layout{Dir: dir}.CACert())
		must(t, err)
		pool.AddCert(roots[0])
		conn, err := grpc.NewClient(h.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})))
		must(t, err)
		defer conn.Close()
		api := lienthongv1.NewExchangeServiceClient(conn)
		if _, err := api.ListAgencies(ctx, &lienthongv1.ListAgenciesRequest{}); status.Code(err) != codes.Unauthenticated {
			t.Errorf("ListAgencies without certificate: %v, want Unauthenticated", err)
		}
		if _, err := rawSend(ctx, api, envMsg(signEnv(t, id, goodEnvelope(commune, data, district))), chunkMsg(0, data)); status.Code(err) != codes.Unauthenticated {
			t.Errorf("Send without certificate: %v, want Unauthenticated", err)
		}
		storeIsEmpty(t, rh, "no client certificate")
	})

	t.Run("certificate from another CA", func(t *testing.T) {
		now := time.Now()
		rogue, err := pki.NewRoot(pki.Request{CommonName: "Rogue CA", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
		must(t, err)
		cert, key, err := rogue.Issue(pki.Request{CommonName: commune, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Usage: pki.ClientAuth | pki.DocumentSigning})
		must(t, err)
		fake, err := node.NewIdentity(cert, key, id.Roots)
		must(t, err)
		fc, err := node.Dial(h.Addr(), fake)
		must(t, err)
		defer fc.Close()
		_, err = fc.Agencies(ctx, "")
		if code := status.Code(err); code != codes.Unavailable && code != codes.Unauthenticated {
			t.Errorf("ListAgencies with a rogue certificate: %v, want the TLS handshake refused", err)
		}
		storeIsEmpty(t, rh, "rogue certificate")
	})

	t.Run("a good document still goes through", func(t *testing.T) {
		pdf, _ := writePDF(t, dir, commune, "ok.pdf", samplepdf.Options{Title: "OK"})
		if _, err := c.Send(ctx, node.Document{Recipients: []string{district}, Number: "1", Notation: "X", Subject: "ok",
			Files: []node.File{{Path: pdf}}}, nil); err != nil {
			t.Fatal(err)
		}
		st, err := h.Store().Stats(ctx)
		must(t, err)
		if st.Documents != 1 || st.Pending != 1 || st.Blobs != 1 || st.TmpFiles != 0 {
			t.Errorf("store after one good send: %+v", st)
		}
	})
}
