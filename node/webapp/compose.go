package webapp

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lienthong/lienthong/node/desk"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/node"
	"github.com/lienthong/lienthong/node/register"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
	"github.com/lienthong/lienthong/signing/pades"
	"github.com/lienthong/lienthong/signing/pkcs11"
	"github.com/lienthong/lienthong/signing/pki"
)

// choice is a recipient the compose form offers: an agency, or a group
// (KIND:CODE) of the agencies of a kind under one.
type choice struct {
	Value, Label, Code string
	Depth              int
	Group              bool
}

// choices builds the recipient tree from the directory: each agency under
// its parent, and for each agency with communes or units under it, the
// group of them.
func choices(list []*lienthongv1.Agency, self string) []choice {
	slices.SortFunc(list, func(a, b *lienthongv1.Agency) int { return strings.Compare(treeKey(a.GetCode()), treeKey(b.GetCode())) })
	var out []choice
	for _, a := range list {
		depth := strings.Count(strings.TrimLeft(strings.ReplaceAll(treeKey(a.GetCode()), ".00", ""), "."), ".")
		if a.GetCode() != self {
			out = append(out, choice{Value: a.GetCode(), Label: a.GetName(), Code: a.GetCode(), Depth: depth})
		}
		for _, k := range []struct {
			kind lienthongv1.AgencyKind
			word string
		}{{lienthongv1.AgencyKind_AGENCY_KIND_COMMUNE, "UBND xã"}, {lienthongv1.AgencyKind_AGENCY_KIND_DISTRICT, "UBND huyện"},
			{lienthongv1.AgencyKind_AGENCY_KIND_DEPARTMENT, "sở, ngành"}} {
			n := 0
			for _, b := range list {
				if b.GetKind() == k.kind && b.GetCode() != a.GetCode() && under(b.GetCode(), a.GetCode()) {
					n++
				}
			}
			if n > 0 {
				kind := strings.ToLower(strings.TrimPrefix(k.kind.String(), "AGENCY_KIND_"))
				out = append(out, choice{Value: kind + ":" + a.GetCode(), Code: kind + ":" + a.GetCode(), Depth: depth + 1, Group: true,
					Label: fmt.Sprintf("Tất cả %s của %s (%d)", k.word, a.GetName(), n)})
			}
		}
	}
	return out
}

// treeKey reverses a code's groups so that sorting puts each agency
// before those under it: 000.01.31.H53 → H53.31.01.000.
func treeKey(code string) string {
	p := strings.Split(code, ".")
	slices.Reverse(p)
	return strings.Join(p, ".")
}

// under reports whether code is below parent in the code tree.
func under(code, parent string) bool {
	c, p := strings.Split(code, "."), strings.Split(parent, ".")
	if len(c) != len(p) {
		return false
	}
	for i := range p {
		if p[i] != "000" && p[i] != "00" && p[i] != c[i] {
			return false
		}
	}
	return true
}

// nextNumber suggests the next number from the register: one more than
// the largest numeric number of this year's documents sent or queued.
func nextNumber(reg *register.Register, year string) string {
	max := 0
	take := func(number, date string) {
		if n, err := strconv.Atoi(strings.TrimSpace(number)); err == nil && strings.HasPrefix(date, year) && n > max {
			max = n
		}
	}
	if list, err := reg.SentList(register.Query{}); err == nil {
		for _, d := range list {
			take(d.Number, d.IssueDate)
		}
	}
	if list, err := reg.Outbox(); err == nil {
		for _, o := range list {
			take(o.Number, o.QueuedAt.In(zone()).Format(time.DateOnly))
		}
	}
	return strconv.Itoa(max + 1)
}

func (s *Server) compose(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Title": "Soạn và gửi", "Nav": "soan", "Modules": s.cfg.PKCS11Modules,
		"Next": nextNumber(s.cfg.Desk.Register(), s.cfg.Now().In(zone()).Format("2006"))}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	list, err := s.cfg.Desk.Agencies(ctx, "")
	if err != nil {
		data["DirectoryError"] = node.Describe(err)
		// The copy of the directory kept in the register: the clerk
		// still picks by name while the hub is away.
		if dir, derr := s.cfg.Desk.Register().Directory(); derr == nil {
			for _, a := range dir.Agencies {
				k := lienthongv1.AgencyKind_value["AGENCY_KIND_"+strings.ToUpper(a.Kind)]
				list = append(list, &lienthongv1.Agency{Code: a.Code, Name: a.Name, Kind: lienthongv1.AgencyKind(k)})
			}
			data["DirectoryAt"] = vnTime(dir.FetchedAt)
		}
	}
	data["Choices"] = choices(list, s.cfg.Desk.Code())
	s.render(w, r, http.StatusOK, "compose.html", data)
}

// sendAnswer is what the compose page's script gets back.
type sendAnswer struct {
	Redirect string `json:"redirect,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (s *Server) answer(w http.ResponseWriter, status int, a sendAnswer) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(a)
}

// send is POST /soan: the form's files are written to a temporary folder,
// signed there if the clerk asked, then handed to the Desk, which queues
// them (with a copy) and forwards; the folder goes after.
func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	mf := r.MultipartForm
	if mf == nil {
		s.answer(w, http.StatusBadRequest, sendAnswer{Error: "Biểu mẫu không đúng (form must be multipart)."})
		return
	}
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	var to []string
	for _, r := range mf.Value["noi-nhan"] {
		// The "other code" box may hold several, or none.
		to = append(to, strings.FieldsFunc(r, func(c rune) bool { return c == ',' || c == ';' || c == ' ' })...)
	}
	doc := node.Document{Recipients: to, Number: v("so"), Notation: v("ky-hieu"), DocumentType: v("loai"),
		Subject: v("trich-yeu"), Signer: v("nguoi-ky"), DueDate: v("han")}
	var err error
	if doc.Urgency, err = desk.ParseUrgency(v("do-khan")); err != nil {
		s.answer(w, http.StatusBadRequest, sendAnswer{Error: node.Describe(err)})
		return
	}
	var missing []string
	for _, f := range []struct{ v, name string }{{doc.Number, "số"}, {doc.Notation, "ký hiệu"}, {doc.Subject, "trích yếu"}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(doc.Recipients) == 0 {
		missing = append(missing, "nơi nhận")
	}
	if len(mf.File["tep"]) == 0 {
		missing = append(missing, "tệp văn bản")
	}
	if len(missing) > 0 {
		s.answer(w, http.StatusBadRequest, sendAnswer{Error: "Còn thiếu: " + strings.Join(missing, ", ") + " (missing fields)."})
		return
	}
	tmp, err := os.MkdirTemp("", "ltnode-soan-")
	if err != nil {
		s.answer(w, http.StatusInternalServerError, sendAnswer{Error: "Không tạo được thư mục tạm: " + err.Error()})
		return
	}
	defer os.RemoveAll(tmp)
	for _, fh := range mf.File["tep"] {
		path, err := saveUpload(tmp, fh)
		if err != nil {
			s.answer(w, http.StatusBadRequest, sendAnswer{Error: err.Error()})
			return
		}
		doc.Files = append(doc.Files, node.File{Path: path})
	}
	signer, closeSigner, err := s.signer(r, tmp)
	if err != nil {
		s.answer(w, http.StatusUnprocessableEntity, sendAnswer{Error: node.Describe(err)})
		return
	}
	defer closeSigner()
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
	defer cancel()
	out, err := s.cfg.Desk.SendSigned(ctx, doc, signer, nil)
	if err != nil {
		msg := node.Describe(err)
		var refused *desk.RefusedError
		if errors.As(err, &refused) {
			msg = "Trục từ chối văn bản: " + node.Describe(refused.Err)
		}
		s.answer(w, httpStatus(err), sendAnswer{Error: msg})
		return
	}
	text := "Đã gửi văn bản " + doc.Number + "/" + doc.Notation
	if out.Queued {
		text = "Văn bản " + doc.Number + "/" + doc.Notation + " đang chờ trong hộp thư đi"
	}
	s.Notify(Event{Kind: "hop-thu-di", Text: text, MessageID: out.MessageID})
	s.answer(w, http.StatusOK, sendAnswer{Redirect: "/di/" + out.MessageID + "?moi=1"})
}

// saveUpload writes one uploaded file into dir under its own base name.
func saveUpload(dir string, fh *multipart.FileHeader) (string, error) {
	name := filepath.Base(strings.ReplaceAll(fh.Filename, "\\", "/"))
	if name == "." || name == "/" || name == "" {
		return "", errors.New("tệp tải lên không có tên (uploaded file has no name)")
	}
	src, err := fh.Open()
	if err != nil {
		return "", fmt.Errorf("đọc tệp %s: %w", name, err)
	}
	defer src.Close()
	path := filepath.Join(dir, name)
	dst, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("tệp %s trùng tên với tệp khác của văn bản (duplicate file name): %w", name, err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return "", fmt.Errorf("lưu tệp %s: %w", name, err)
	}
	return path, dst.Close()
}

// signer is the signer the form asks for (nil: the files are sent as
// they are): a key file and certificate uploaded with the form, or a key
// in a PKCS#11 token whose PIN the clerk typed. Neither the key nor the
// PIN is kept; done closes the token once the document is sent.
func (s *Server) signer(r *http.Request, tmp string) (signer desk.PDFSigner, done func(), err error) {
	done = func() {}
	mode := r.PostFormValue("ky")
	if mode == "" || mode == "khong" {
		return nil, done, nil
	}
	certs, err := uploadedCerts(r.MultipartForm.File["chung-thu"])
	if err != nil {
		return nil, done, err
	}
	p := &desk.PAdES{Options: pades.SignOptions{Certificate: certs[0], Chain: certs[1:], Reason: "Phát hành"}, Now: s.cfg.Now}
	switch mode {
	case "tep":
		fhs := r.MultipartForm.File["khoa"]
		if len(fhs) != 1 {
			return nil, done, errors.New("chọn tệp khóa bí mật để ký (choose the key file)")
		}
		// LoadKey reads a file: the key goes to the request's private
		// temporary folder (mode 0700), removed at once.
		kdir := filepath.Join(tmp, "khoa")
		if err := os.Mkdir(kdir, 0o700); err != nil {
			return nil, done, err
		}
		path, err := saveUpload(kdir, fhs[0])
		if err != nil {
			return nil, done, err
		}
		key, err := pki.LoadKey(path)
		os.Remove(path)
		if err != nil {
			return nil, done, fmt.Errorf("tệp khóa không đọc được (unreadable key file): %w", err)
		}
		p.Options.Signer = key
	case "the":
		module := r.PostFormValue("thu-vien")
		if !slices.Contains(s.cfg.PKCS11Modules, module) {
			return nil, done, fmt.Errorf("thư viện PKCS#11 %q không nằm trong danh sách ltnode serve cho phép (--pkcs11) (module not allowed)", module)
		}
		k, err := pkcs11.Open(pkcs11.Config{Module: module, TokenLabel: strings.TrimSpace(r.PostFormValue("the")),
			PIN: r.PostFormValue("pin"), KeyLabel: strings.TrimSpace(r.PostFormValue("nhan-khoa"))})
		if err != nil {
			return nil, done, fmt.Errorf("không mở được thẻ ký số (PKCS#11 token): %w", err)
		}
		p.Options.Signer = k
		done = func() { k.Close() }
	default:
		return nil, done, fmt.Errorf("cách ký %q không rõ (unknown signing mode)", mode)
	}
	return p, done, nil
}

func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

func uploadedCerts(fhs []*multipart.FileHeader) ([]*x509.Certificate, error) {
	if len(fhs) != 1 {
		return nil, errors.New("chọn tệp chứng thư số của người ký (choose the signer's certificate file)")
	}
	raw, err := readUpload(fhs[0])
	if err != nil {
		return nil, err
	}
	certs, err := pki.ParseCertificatesPEM(raw, fhs[0].Filename)
	if err != nil {
		return nil, fmt.Errorf("tệp chứng thư số không đọc được (unreadable certificate file): %w", err)
	}
	return certs, nil
}
