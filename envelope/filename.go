package envelope

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lienthong/lienthong/internal/termsafe"
)

// Names a node writes in a received document's folder beside its files
// (package node uses these constants), and the prefix of the folder it
// assembles a document in. No attachment may take them.
const (
	// DeliveryFile holds the delivery header: the signed envelope, the
	// hub's accepted receipt and its verification.
	DeliveryFile = "delivery.pb"
	// DeliveredFile holds the hub's signed "delivered" receipt.
	DeliveredFile = "receipt-delivered.pb"
	// InfoFile describes the document for a clerk (package node/desk).
	InfoFile = "thong-tin.json"
	// PartialPrefix starts the name of the folder a document is written
	// in before it is complete (in the inbox folder, beside the
	// documents' folders).
	PartialPrefix = ".partial-"
)

// MaxFileName is the longest file name, in bytes of UTF-8: the limit of
// common file systems (ext4, NTFS counts UTF-16 units, which is no
// fewer).
const MaxFileName = 255

// reservedByNode reports whether name, in any case, is one a node writes
// itself, now or in an earlier layout of its folders (envelope.json,
// envelope.pb), so old and new folders read alike.
func reservedByNode(name string) bool {
	lower := strings.ToLower(name)
	switch lower {
	case DeliveryFile, InfoFile, InfoFile + ".tmp", "envelope.json", "envelope.pb":
		return true
	}
	// receipt-*.pb: the receipts the node keeps beside the files.
	return strings.HasPrefix(lower, "receipt-") && strings.HasSuffix(lower, ".pb")
}

// reservedOnWindows reports whether name is a device name Windows
// refuses as a file name whatever its extension (CON, NUL.txt, com1.pdf).
func reservedOnWindows(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.ToUpper(strings.TrimRight(stem, " "))
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(stem) >= 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) {
		switch stem[3:] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}

// FileName checks one attachment's name: the name the recipient's node
// creates it under, on Linux, macOS or Windows. It must be valid UTF-8 of
// at most MaxFileName bytes, hold no control or bidirectional formatting
// character and none of / \ : * ? " < > |, not start with a dot or a
// space nor end with a dot or a space, not be a device name Windows
// reserves (CON, NUL.txt, COM1...), and not be a name the node writes
// itself (delivery.pb, thong-tin.json, receipt-*.pb).
func FileName(name string) error {
	q := quote(name)
	switch {
	case name == "":
		return invalid("tên tệp trống (file name missing)")
	case len(name) > MaxFileName:
		return invalid("tên tệp %s dài %d byte, tối đa %d byte (file name too long)", q, len(name), MaxFileName)
	case !utf8.ValidString(name):
		return invalid("tên tệp %s không phải văn bản UTF-8 hợp lệ (file name is not valid UTF-8)", q)
	}
	for _, r := range name {
		if termsafe.Unsafe(r) {
			return invalid("tên tệp %s chứa ký tự điều khiển hoặc ký tự đảo chiều U+%04X (file name contains a control or bidi character)", q, r)
		}
		if strings.ContainsRune(`/\:*?"<>|`, r) {
			return invalid(`tên tệp %s chứa ký tự %q; tên tệp không được có / \ : * ? " < > | (file name contains a path separator or a character Windows refuses)`, q, r)
		}
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	if first == '.' || last == '.' || unicode.IsSpace(first) || unicode.IsSpace(last) {
		return invalid("tên tệp %s không được bắt đầu hay kết thúc bằng dấu chấm hoặc khoảng trắng (file name starts or ends with a dot or a space)", q)
	}
	if reservedOnWindows(name) {
		return invalid("tên tệp %s là tên thiết bị Windows dành riêng (CON, PRN, AUX, NUL, COM1–9, LPT1–9); hãy đổi tên (file name reserved on Windows)", q)
	}
	if reservedByNode(name) {
		return invalid("tên tệp %s trùng tên tệp ltnode tự ghi trong thư mục văn bản (%s, receipt-*.pb); hãy đổi tên (file name reserved by the node)", q, DeliveryFile)
	}
	return nil
}

// FileNames checks that a document's file names differ from each other
// when upper and lower case are not told apart (Windows and macOS do
// not): they become files of one folder. Each name is checked with
// FileName first.
func FileNames(names []string) error {
	seen := make(map[string]string, len(names))
	for _, n := range names {
		if err := FileName(n); err != nil {
			return err
		}
		k := fold(n)
		if prev, ok := seen[k]; ok {
			if prev == n {
				return invalid("tên tệp %s bị trùng (duplicate file name)", quote(n))
			}
			return invalid("tên tệp %s và %s trùng nhau khi không phân biệt chữ hoa, chữ thường (file names differ only in case)", quote(prev), quote(n))
		}
		seen[k] = n
	}
	return nil
}

// fold returns s with each character replaced by the smallest of the
// characters it matches under Unicode simple case folding, so that two
// names are equal after fold exactly when strings.EqualFold says so.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		return min
	}, s)
}
