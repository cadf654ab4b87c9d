package pdf

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
)

// WriteObject appends the PDF syntax of v to b. Strings are written in hex,
// which needs no escaping and survives any byte.
func WriteObject(b *bytes.Buffer, v Object) error {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case int:
		b.WriteString(strconv.Itoa(v))
	case Real:
		b.WriteString(string(v))
	case Name:
		writeName(b, v)
	case *String:
		b.WriteByte('<')
		b.WriteString(hex.EncodeToString(v.Bytes))
		b.WriteByte('>')
	case Ref:
		fmt.Fprintf(b, "%d %d R", v.Num, v.Gen)
	case Array:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			if err := WriteObject(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case *Dict:
		b.WriteString("<<")
		for _, k := range v.keys {
			writeName(b, k)
			b.WriteByte(' ')
			if err := WriteObject(b, v.m[k]); err != nil {
				return err
			}
		}
		b.WriteString(">>")
	case Raw:
		b.WriteString(string(v))
	default:
		return fmt.Errorf("pdf: cannot write a %T as a direct object", v)
	}
	return nil
}

// Raw is written verbatim; the signer uses it for placeholders.
type Raw string

func writeName(b *bytes.Buffer, n Name) {
	b.WriteByte('/')
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c < 0x21 || c > 0x7e || c == '#' || isDelim(c) {
			fmt.Fprintf(b, "#%02X", c)
			continue
		}
		b.WriteByte(c)
	}
}

// TextString encodes s as a PDF text string: plain bytes when s is
// printable ASCII, UTF-16BE with a byte order mark otherwise.
func TextString(s string) *String {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		return &String{Bytes: []byte(s)}
	}
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2, 2+2*len(u))
	b[0], b[1] = 0xFE, 0xFF
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return &String{Bytes: b}
}

// DecodeText decodes a PDF text string (UTF-16BE with BOM, UTF-8 with BOM,
// or PDFDocEncoding, read here as Latin-1).
func DecodeText(b []byte) string {
	if len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF {
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	}
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return string(b[3:])
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// FormatDate formats t as a PDF date string, D:YYYYMMDDHHmmSS+HH'mm'.
func FormatDate(t time.Time) string {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign = '-'
		off = -off
	}
	return fmt.Sprintf("D:%s%c%02d'%02d'", t.Format("20060102150405"), sign, off/3600, off%3600/60)
}

// ParseDate reads a PDF date string; missing trailing fields default as
// the PDF specification says, and a missing zone means UTC.
func ParseDate(s string) (time.Time, bool) {
	if len(s) >= 2 && s[:2] == "D:" {
		s = s[2:]
	}
	ok := true
	num := func(str string, i, n, def int) int {
		if len(str) < i+n {
			return def
		}
		v := 0
		for _, c := range str[i : i+n] {
			if c < '0' || c > '9' {
				ok = false
				return 0
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	if len(s) < 4 {
		return time.Time{}, false
	}
	year := num(s, 0, 4, 0)
	month := num(s, 4, 2, 1)
	day := num(s, 6, 2, 1)
	hour := num(s, 8, 2, 0)
	minute := num(s, 10, 2, 0)
	sec := num(s, 12, 2, 0)
	if !ok || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	loc := time.UTC
	if len(s) > 14 && (s[14] == '+' || s[14] == '-') {
		z := s[14:]
		zh := num(z, 1, 2, 0)
		zm := 0
		if len(z) >= 6 && z[3] == '\'' {
			zm = num(z, 4, 2, 0)
		}
		if !ok || zh > 23 || zm > 59 {
			return time.Time{}, false
		}
		off := zh*3600 + zm*60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, 0, loc), true
}

// WriteXrefTable writes a cross-reference table (ISO 32000-1, 7.5.4)
// holding offsets, with the free head of the list.
func WriteXrefTable(buf *bytes.Buffer, offsets map[int]XrefEntry) {
	buf.WriteString("xref\n0 1\n0000000000 65535 f \n")
	nums := SortedNums(offsets)
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		fmt.Fprintf(buf, "%d %d\n", nums[i], j-i+1)
		for _, n := range nums[i : j+1] {
			e := offsets[n]
			fmt.Fprintf(buf, "%010d %05d n \n", e.Off, e.Gen)
		}
		i = j + 1
	}
}

// WriteXrefStream writes an uncompressed cross-reference stream object
// (ISO 32000-1, 7.5.8) holding offsets, the trailer entries and startxref.
func WriteXrefStream(buf *bytes.Buffer, num int, offsets map[int]XrefEntry, trailer *Dict) {
	nums := SortedNums(offsets)
	var maxOff int64
	for _, e := range offsets {
		maxOff = max(maxOff, e.Off)
	}
	w := 1
	for ; w < 8 && maxOff >= 1<<(8*w); w++ {
	}
	var index Array
	var data []byte
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		index = append(index, int64(nums[i]), int64(j-i+1))
		for _, n := range nums[i : j+1] {
			e := offsets[n]
			data = append(data, 1)
			for k := w - 1; k >= 0; k-- {
				data = append(data, byte(e.Off>>(8*k)))
			}
			data = append(data, byte(e.Gen>>8), byte(e.Gen))
		}
		i = j + 1
	}
	xs := trailer.Clone()
	xs.Set("Type", Name("XRef"))
	xs.Set("W", Array{int64(1), int64(w), int64(2)})
	xs.Set("Index", index)
	xs.Set("Length", int64(len(data)))
	fmt.Fprintf(buf, "%d 0 obj\n", num)
	WriteObject(buf, xs) // only names, numbers, refs and arrays: cannot fail
	buf.WriteString("\nstream\n")
	buf.Write(data)
	buf.WriteString("\nendstream\nendobj\n")
	fmt.Fprintf(buf, "startxref\n%d\n%%%%EOF\n", offsets[num].Off)
}

// Num returns x as a real number object rounded to three decimals (a
// thousandth of a point is below any device's resolution).
func Num(x float64) Real {
	s := strconv.FormatFloat(math.Round(x*1000)/1000, 'f', -1, 64)
	if s == "-0" {
		s = "0"
	}
	return Real(s)
}
