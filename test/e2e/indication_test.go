package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lienthong/lienthong/hub"
	"github.com/lienthong/lienthong/hub/policy"
	"github.com/lienthong/lienthong/hub/provision"
	"github.com/lienthong/lienthong/internal/samplepdf"
	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pki"
)

// staleCRL replaces the province root's CRL in the hub's trust store with
// one whose nextUpdate passed a month ago.
func staleCRL(t *testing.T, dir string) {
	t.Helper()
	l := provision.Layout{Dir: dir}
	ca, err := pki.LoadCertificates(l.CACert())
	must(t, err)
	key, err := pki.LoadKey(l.CAKey())
	must(t, err)
	now := time.Now()
	der, err := (&pki.Authority{Cert: ca[0], Key: key}).CRL(nil, now, now.Add(-60*24*time.Hour), now.Add(-30*24*time.Hour), 2)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(l.Trust(), "crls", "province.crl"), pki.CRLPEM(der), 0o644))
}

// A document whose signer's CA has only a stale CRL on the hub is
// INDETERMINATE/TRY_LATER: refused by default with what to do about it,
// leaving nothing stored; with --indeterminate flag it is accepted, and
// Track, the recipient and `ltnode track` show the indication, the
// sub-indication and the revocation data it rests on.
func TestHubIndeterminate(t *testing.T) {
	ctx := context.Background()
	doc := func(c *node.Client, path string) (*node.SendResult, error) {
		return c.Send(ctx, node.Document{Recipients: []string{district}, Number: "13", Notation: "UBND", Subject: "CRL cũ",
			Files: []node.File{{Path: path}}}, nil)
	}

	t.Run("refused by default", func(t *testing.T) {
		dir := initHub(t)
		staleCRL(t, dir)
		h := startHub(t, dir)
		pdf, _ := writePDF(t, dir, commune, "stale.pdf", samplepdf.Options{Title: "CRL cu"})
		_, err := doc(client(t, h.Addr(), dir, commune), pdf)
		st := status.Convert(err)
		if st.Code() != codes.FailedPrecondition {
			t.Fatalf("code %v (%q), want FailedPrecondition", st.Code(), st.Message())
		}
		for _, want := range []string{`"stale.pdf"`, "Signature1", commune, "INDETERMINATE/TRY_LATER", "CRL của CN=Lienthong Dev Root CA", "(trust-store) đã hết hạn từ", "expired on", "D/trust/crls", "kill -HUP"} {
			if !strings.Contains(st.Message(), want) {
				t.Errorf("message %q does not mention %q", st.Message(), want)
			}
		}
		t.Logf("refusal: %s", st.Message())
		storeIsEmpty(t, h, "an INDETERMINATE document")
	})

	t.Run("accepted and shown with --indeterminate flag", func(t *testing.T) {
		dir := initHub(t)
		staleCRL(t, dir)
		h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Indeterminate: policy.FlagIndeterminate})
		pdf, _ := writePDF(t, dir, commune, "stale.pdf", samplepdf.Options{Title: "CRL cu"})
		res, err := doc(client(t, h.Addr(), dir, commune), pdf)
		must(t, err)
		if v := res.Verification; v.GetVerdict() != "indeterminate" || v.GetIndication() != "INDETERMINATE" {
			t.Errorf("send: verdict %q indication %q", v.GetVerdict(), v.GetIndication())
		}
		tr, err := client(t, h.Addr(), dir, district).Track(ctx, res.MessageID)
		must(t, err)
		v := tr.Verification
		if v.GetIndication() != "INDETERMINATE" || len(v.GetFiles()) != 1 || len(v.GetFiles()[0].GetSignatures()) != 1 {
			t.Fatalf("Track verification = %v", v)
		}
		f := v.GetFiles()[0]
		s := f.GetSignatures()[0]
		if f.GetIndication() != "INDETERMINATE" || s.GetIndication() != "INDETERMINATE" || s.GetSubIndication() != "TRY_LATER" ||
			s.GetField() != "Signature1" || s.GetSigner() != commune || len(s.GetCertificate()) == 0 {
			t.Errorf("Track signature = %v", s)
		}
		if rc := s.GetRevocation(); len(rc) != 1 || rc[0].GetStatus() != "unknown" || !strings.Contains(strings.Join(rc[0].GetProblems(), ";"), "expired on") {
			t.Errorf("Track revocation = %v", rc)
		}
		var got []*node.Received
		must(t, client(t, h.Addr(), dir, district).ReceiveInto(ctx, filepath.Join(t.TempDir(), "in"), node.ReceiveOptions{},
			func(r *node.Received) error { got = append(got, r); return nil }))
		if len(got) != 1 || got[0].Verification.GetIndication() != "INDETERMINATE" ||
			got[0].Verification.GetFiles()[0].GetSignatures()[0].GetSubIndication() != "TRY_LATER" {
			t.Fatalf("recipient got %v", got)
		}
		rc, out, errs := ltnode(t, h.Addr(), dir, district, "track", res.MessageID)
		if rc != 0 || !strings.Contains(out, "CHƯA XÁC ĐỊNH ĐƯỢC (INDETERMINATE)") || !strings.Contains(out, `chữ ký "Signature1" của `+commune+": INDETERMINATE/TRY_LATER") {
			t.Errorf("ltnode track exit %d:\n%s%s", rc, out, errs)
		}
	})
}

// ltnode verify --json keeps verdict and adds the indication per
// signature; a stale CRL gives "indeterminate" and exit 1.
func TestLtnodeVerifyIndication(t *testing.T) {
	dir := initHub(t)
	l := provision.Layout{Dir: dir}
	pdf, _ := writePDF(t, dir, commune, "qd.pdf", samplepdf.Options{Title: "Quyet dinh"})
	type sig struct {
		Indication    string `json:"indication"`
		SubIndication string `json:"sub_indication"`
		Revocation    []struct {
			Status string `json:"status"`
			Origin string `json:"origin"`
		} `json:"revocation"`
	}
	type report struct {
		Verdict    string `json:"verdict"`
		Indication string `json:"indication"`
		Signatures []sig  `json:"signatures"`
	}
	fresh := filepath.Join(l.Trust(), "crls", "province.crl")
	rc, out, _ := ltnode(t, "", dir, commune, "verify", pdf, "--trust", l.CACert(), "--crl", fresh, "--json")
	r := decodeJSON[report](t, out)
	if rc != 0 || r.Verdict != "valid" || r.Indication != "TOTAL-PASSED" || len(r.Signatures) != 1 ||
		len(r.Signatures[0].Revocation) != 1 || r.Signatures[0].Revocation[0].Status != "good" || r.Signatures[0].Revocation[0].Origin != "trust-store" {
		t.Errorf("fresh CRL: exit %d, %s", rc, out)
	}
	staleCRL(t, dir)
	rc, out, _ = ltnode(t, "", dir, commune, "verify", pdf, "--trust", l.CACert(), "--crl", fresh, "--json")
	r = decodeJSON[report](t, out)
	if rc != 1 || r.Verdict != "indeterminate" || r.Indication != "INDETERMINATE" || len(r.Signatures) != 1 ||
		r.Signatures[0].Indication != "INDETERMINATE" || r.Signatures[0].SubIndication != "TRY_LATER" {
		t.Errorf("stale CRL: exit %d, %s", rc, out)
	}
	rc, out, _ = ltnode(t, "", dir, commune, "verify", pdf, "--trust", l.CACert(), "--crl", fresh)
	if rc != 1 || !strings.Contains(out, "CHƯA XÁC ĐỊNH ĐƯỢC (indeterminate)") || !strings.Contains(out, "INDETERMINATE/TRY_LATER") {
		t.Errorf("stale CRL, text: exit %d, %s", rc, out)
	}
}

// With --revocation-fetch the hub asks the OCSP responder a certificate
// names when its trust store has nothing for the issuer: a good answer
// lets the document in, recorded with the responder's URL; a responder
// that does not answer costs at most the bound and gives TRY_LATER.
func TestHubRevocationFetch(t *testing.T) {
	ctx := context.Background()
	dir := initHub(t)
	l := provision.Layout{Dir: dir}
	must(t, os.Remove(filepath.Join(l.Trust(), "crls", "province.crl")))
	ca, err := pki.LoadCertificates(l.CACert())
	must(t, err)
	caKey, err := pki.LoadKey(l.CAKey())
	must(t, err)
	province := &pki.Authority{Cert: ca[0], Key: caKey}

	var asked atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ocsp", func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		body, err := io.ReadAll(r.Body)
		req, perr := ocsp.ParseRequest(body)
		if err != nil || perr != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		now := time.Now()
		der, err := ocsp.CreateResponse(province.Cert, province.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber,
			ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}, province.Key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(der)
	})
	release := make(chan struct{})
	mux.HandleFunc("POST /silent", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release) // before Close, which waits for handlers

	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", RevocationFetch: 2 * time.Second})
	c := client(t, h.Addr(), dir, commune)
	signWith := func(name, url string) string {
		t.Helper()
		now := time.Now()
		cert, key, err := province.Issue(pki.Request{CommonName: "Lãnh đạo " + name, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			Usage: pki.DocumentSigning, OCSPServer: []string{url}})
		must(t, err)
		path, _ := writePDF(t, dir, "", name+".pdf", samplepdf.Options{Title: name})
		must(t, pades.SignFile(path, path, pades.SignOptions{Signer: key, Certificate: cert, Time: now}))
		return path
	}
	send := func(path string) (*node.SendResult, error) {
		return c.Send(ctx, node.Document{Recipients: []string{district}, Number: "14", Notation: filepath.Base(path), Subject: "OCSP",
			Files: []node.File{{Path: path}}}, nil)
	}

	res, err := send(signWith("good", srv.URL+"/ocsp"))
	must(t, err)
	s := res.Verification.GetFiles()[0].GetSignatures()[0]
	if s.GetIndication() != "TOTAL-PASSED" || len(s.GetRevocation()) != 1 || s.GetRevocation()[0].GetSource() != "ocsp" ||
		s.GetRevocation()[0].GetOrigin() != srv.URL+"/ocsp" || len(s.GetRevocation()[0].GetData()) == 0 || asked.Load() != 1 {
		t.Fatalf("fetched OCSP: %v (responder asked %d times)", s, asked.Load())
	}

	_, err = send(signWith("silent", srv.URL+"/silent"))
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "INDETERMINATE/TRY_LATER") || !strings.Contains(st.Message(), "did not answer") {
		t.Errorf("silent responder: %v %q", st.Code(), st.Message())
	}
}

// lthub serve refuses bad --indeterminate and --revocation-fetch values
// before opening anything.
func TestLthubServeFlags(t *testing.T) {
	dir := initHub(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--indeterminate", "accept"}, "--indeterminate"},
		{[]string{"--revocation-fetch", "-5s"}, "--revocation-fetch"},
	} {
		rc, _, errs := lthub(t, append([]string{"serve", "--dir", dir, "--listen", "127.0.0.1:0"}, tc.args...)...)
		if rc != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("serve %q: exit %d, %s", tc.args, rc, errs)
		}
	}
}

// A PDF signed with a TLS-only key (the operator's client certificate) is
// TOTAL-FAILED/CHAIN_CONSTRAINTS_FAILURE: refused as invalid even with
// --indeterminate flag, saying which certificate to use instead.
func TestHubRefusesTLSKeySignature(t *testing.T) {
	dir := initHub(t)
	l := provision.Layout{Dir: dir}
	h := startHubWith(t, hub.Config{Dir: dir, Listen: "127.0.0.1:0", Indeterminate: policy.FlagIndeterminate})
	certs, err := pki.LoadCertificates(filepath.Join(l.Operator(), "cert.pem"))
	must(t, err)
	key, err := pki.LoadKey(filepath.Join(l.Operator(), "key.pem"))
	must(t, err)
	path, _ := writePDF(t, dir, "", "tls.pdf", samplepdf.Options{Title: "Khoa TLS"})
	// ltnode sign refuses a TLS key; an attacker's tool does not.
	in, err := os.ReadFile(path)
	must(t, err)
	var signed bytes.Buffer
	must(t, pades.SignUnchecked(&signed, bytes.NewReader(in), int64(len(in)), pades.SignOptions{Signer: key, Certificate: certs[0], Time: time.Now()}))
	must(t, os.WriteFile(path, signed.Bytes(), 0o644))
	_, err = client(t, h.Addr(), dir, commune).Send(context.Background(), node.Document{Recipients: []string{district}, Number: "15", Notation: "UBND",
		Subject: "TLS", Files: []node.File{{Path: path}}}, nil)
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("code %v (%q), want InvalidArgument", st.Code(), st.Message())
	}
	for _, want := range []string{`"tls.pdf"`, "TOTAL-FAILED/CHAIN_CONSTRAINTS_FAILURE", "extended key usage does not allow signing documents (EKU clientAuth)", "không dùng chứng thư TLS"} {
		if !strings.Contains(st.Message(), want) {
			t.Errorf("message %q does not mention %q", st.Message(), want)
		}
	}
	storeIsEmpty(t, h, "a TLS-key signature")
}
