package rpcerr

import (
	"crypto/tls"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CertificateNotVerified returns what TLS said when err is a call that
// failed because the server's certificate did not verify (a name it does
// not carry, an unknown CA, expired), and false otherwise. gRPC reports
// such a handshake failure as Unavailable carrying only the TLS error's
// text, hence the match on the words crypto/tls writes.
func CertificateNotVerified(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) {
		return ve.Err.Error(), true
	}
	const marker = "tls: failed to verify certificate: "
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unavailable {
		if _, detail, found := strings.Cut(st.Message(), marker); found {
			return strings.TrimRight(detail, `"`), true
		}
	}
	return "", false
}

// HubCertificateMessage tells a clerk or an operator what a hub
// certificate that did not verify means and what to do; detail is what
// TLS said.
func HubCertificateMessage(detail string) string {
	return "không xác minh được chứng thư TLS của trục: " + detail +
		" — kiểm tra địa chỉ --hub/LTNODE_HUB (phải là tên có trong chứng thư của trục) và ca.pem của nút; nếu trục đổi tên, " +
		"trung tâm CNTT cấp lại chứng thư bằng `lthub cert renew --hub-name TÊN` (hub certificate does not verify: a configuration error, not a hub outage; documents stay in the outbox)"
}
