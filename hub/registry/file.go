package registry

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lienthong/lienthong"
	"github.com/lienthong/lienthong/hub/directory"
	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Columns returns the fields of a directory file, in the order the
// writers use. A CSV file starts with a header naming them (any order;
// parent, status and contact may be left out).
func Columns() []string { return []string{"code", "name", "kind", "parent", "status", "contact"} }

// FileRecord is one agency as a directory file spells it.
type FileRecord struct {
	Code    string `json:"code"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Parent  string `json:"parent,omitempty"`
	Status  string `json:"status,omitempty"`
	Contact string `json:"contact,omitempty"`
}

// Read reads a directory file, CSV or JSON by its extension (.csv,
// .json), into rows numbered as the clerk sees them: a CSV row by its
// line (the header is line 1), a JSON row by its position (1 first).
func Read(name string, r io.Reader) ([]Row, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return ReadCSV(r)
	case ".json":
		return ReadJSON(r)
	default:
		return nil, lienthong.Errorf(lienthong.KindInvalid, "tệp %s: chỉ nhận .csv hoặc .json (directory file must be CSV or JSON)", name)
	}
}

// ReadCSV reads a CSV directory file.
func ReadCSV(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, lienthong.Errorf(lienthong.KindInvalid, "tệp danh bạ rỗng (empty directory file)")
	}
	if err != nil {
		return nil, csvErr(err)
	}
	idx := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !knownColumn(h) {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "dòng 1: cột %q không rõ; các cột là %s (unknown column)", h, strings.Join(Columns(), ", "))
		}
		if _, dup := idx[h]; dup {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "dòng 1: cột %q lặp lại (duplicate column)", h)
		}
		idx[h] = i
	}
	for _, need := range []string{"code", "name", "kind"} {
		if _, ok := idx[need]; !ok {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "dòng 1: thiếu cột %q (missing column)", need)
		}
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, lienthong.Errorf(lienthong.KindInvalid, "dòng %d: có %d cột, dòng tiêu đề có %d (wrong number of fields)", line, len(rec), len(header))
		}
		get := func(col string) string {
			if i, ok := idx[col]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row, err := toRow(line, FileRecord{Code: get("code"), Name: get("name"), Kind: get("kind"), Parent: get("parent"), Status: get("status"), Contact: get("contact")})
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
}

func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return lienthong.Wrap(lienthong.KindInvalid, err, "dòng %d: tệp CSV sai dạng (malformed CSV)", pe.Line)
	}
	return fmt.Errorf("reading the directory file: %w", err)
}

func knownColumn(h string) bool {
	return slices.Contains(Columns(), h)
}

// ReadJSON reads a JSON directory file: an array of FileRecord objects.
func ReadJSON(r io.Reader) ([]Row, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var recs []FileRecord
	if err := dec.Decode(&recs); err != nil {
		return nil, lienthong.Wrap(lienthong.KindInvalid, err, "tệp JSON sai dạng: cần một mảng các mục {code, name, kind, parent, status, contact} (malformed JSON)")
	}
	rows := make([]Row, 0, len(recs))
	for i, rec := range recs {
		row, err := toRow(i+1, rec)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Rows turns records given on the command line (not from a file) into
// rows.
func Rows(recs []FileRecord) ([]Row, error) {
	rows := make([]Row, 0, len(recs))
	for _, rec := range recs {
		row, err := toRow(0, rec)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// toRow turns a file record into a row, reading its kind and status.
func toRow(line int, rec FileRecord) (Row, error) {
	a := &lienthongv1.Agency{Code: rec.Code, Name: rec.Name, Parent: rec.Parent, Contact: rec.Contact}
	if rec.Kind != "" {
		k, ok := directory.ParseKind(rec.Kind)
		if !ok {
			return Row{}, rowErr(lienthong.KindInvalid, line, rec.Code, "kind",
				"loại %q không rõ; dùng province, department, district, commune hoặc unit (unknown kind)", rec.Kind)
		}
		a.Kind = k
	}
	if rec.Status != "" {
		st, ok := ParseStatus(rec.Status)
		if !ok {
			return Row{}, rowErr(lienthong.KindInvalid, line, rec.Code, "status", "trạng thái %q không rõ; dùng active hoặc suspended (unknown status)", rec.Status)
		}
		a.Status = st
	}
	return Row{Line: line, Agency: a}, nil
}

// Record is a as a directory file spells it (its parent always written).
func Record(a *lienthongv1.Agency) FileRecord {
	return FileRecord{Code: a.GetCode(), Name: a.GetName(), Kind: KindWord(a.GetKind()), Parent: EffectiveParent(a),
		Status: StatusWord(a.GetStatus()), Contact: a.GetContact()}
}

// WriteCSV writes agencies as a CSV directory file that ReadCSV reads back.
func WriteCSV(w io.Writer, agencies []*lienthongv1.Agency) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns()); err != nil {
		return err
	}
	for _, a := range agencies {
		r := Record(a)
		if err := cw.Write([]string{r.Code, r.Name, r.Kind, r.Parent, r.Status, r.Contact}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes agencies as a JSON directory file.
func WriteJSON(w io.Writer, agencies []*lienthongv1.Agency) error {
	recs := make([]FileRecord, 0, len(agencies))
	for _, a := range agencies {
		recs = append(recs, Record(a))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(recs)
}

// KindWord is the file word for an agency kind ("commune").
func KindWord(k lienthongv1.AgencyKind) string { return directory.KindName(k) }

// StatusWord is the file word for a status: "active" or "suspended".
func StatusWord(s lienthongv1.AgencyStatus) string {
	switch s {
	case lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE:
		return "active"
	case lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED:
		return "suspended"
	default:
		return ""
	}
}

// ParseStatus reads a status word: active or suspended (or the
// Vietnamese "hoạt động", "tạm ngừng").
func ParseStatus(word string) (lienthongv1.AgencyStatus, bool) {
	switch strings.ToLower(strings.TrimSpace(word)) {
	case "active", "hoạt động":
		return lienthongv1.AgencyStatus_AGENCY_STATUS_ACTIVE, true
	case "suspended", "tạm ngừng":
		return lienthongv1.AgencyStatus_AGENCY_STATUS_SUSPENDED, true
	}
	return lienthongv1.AgencyStatus_AGENCY_STATUS_UNSPECIFIED, false
}
