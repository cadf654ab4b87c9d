package lienthongv1

import "strings"

// Label returns the Vietnamese name a clerk knows for the status, as shown
// by ltnode and in the hub's messages.
func (s Status) Label() string {
	switch s {
	case Status_STATUS_ACCEPTED:
		return "trục đã tiếp nhận"
	case Status_STATUS_DELIVERED:
		return "đã đến"
	case Status_STATUS_REJECTED:
		return "từ chối"
	case Status_STATUS_RECEIVED:
		return "đã tiếp nhận"
	case Status_STATUS_ASSIGNED:
		return "phân công"
	case Status_STATUS_IN_PROGRESS:
		return "đang xử lý"
	case Status_STATUS_DONE:
		return "hoàn thành"
	case Status_STATUS_REVOKED:
		return "đã bị thu hồi"
	case Status_STATUS_QUARANTINED:
		return "hỏng trên trục"
	case Status_STATUS_RECALL_REQUESTED:
		return "nơi gửi đề nghị thu hồi"
	case Status_STATUS_RECALL_AGREED:
		return "đồng ý thu hồi"
	case Status_STATUS_RECALL_REFUSED:
		return "từ chối thu hồi"
	}
	return s.Name()
}

// Name returns the short English name used on the command line and in
// JSON: "in-progress" for STATUS_IN_PROGRESS.
func (s Status) Name() string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.String(), "STATUS_")), "_", "-")
}
