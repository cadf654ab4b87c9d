package node

import (
	"bytes"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	lienthongv1 "github.com/lienthong/lienthong/proto/lienthong/v1"
)

// Whatever the hub sends, a receiveMsg holds what protobuf would decode:
// plain chunks on the fast path, everything else through protobuf.
func TestReceiveMsgDecodesLikeProtobuf(t *testing.T) {
	chunk := func(i uint32, data []byte) []byte {
		b, err := proto.Marshal(&lienthongv1.ReceiveResponse{Part: &lienthongv1.ReceiveResponse_Chunk{
			Chunk: &lienthongv1.FileChunk{FileIndex: i, Data: data}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	other, err := proto.Marshal(&lienthongv1.ReceiveResponse{Part: &lienthongv1.ReceiveResponse_End{
		End: &lienthongv1.DeliveryEnd{MessageId: "m1"}}})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("lienthong"), 4000)
	// A chunk whose FileChunk carries an unknown field 9.
	unknown := protowire.AppendTag(nil, 2, protowire.BytesType)
	inner := protowire.AppendTag(nil, 1, protowire.VarintType)
	inner = protowire.AppendVarint(inner, 3)
	inner = protowire.AppendTag(inner, 9, protowire.VarintType)
	inner = protowire.AppendVarint(inner, 1)
	unknown = protowire.AppendBytes(unknown, inner)

	cases := map[string]struct {
		wire []byte
		fast bool
	}{
		"chunk":                   {chunk(2, big), true},
		"empty chunk":             {chunk(0, nil), true},
		"chunk of file 0":         {chunk(0, []byte("x")), true},
		"end":                     {other, false},
		"chunk, unknown field":    {unknown, false},
		"two chunks back to back": {append(chunk(1, []byte("a")), chunk(2, []byte("b"))...), false},
	}
	m := new(receiveMsg) // reused, as on a stream
	for name, c := range cases {
		want := new(lienthongv1.ReceiveResponse)
		if err := proto.Unmarshal(c.wire, want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Split as gRPC hands over a message received in several frames.
		half := len(c.wire) / 2
		if err := m.unmarshal(mem.BufferSlice{mem.SliceBuffer(c.wire[:half]), mem.SliceBuffer(c.wire[half:])}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if m.Chunk != c.fast {
			t.Errorf("%s: fast path %v, want %v", name, m.Chunk, c.fast)
		}
		got := m.Other
		if m.Chunk {
			got = &lienthongv1.ReceiveResponse{Part: &lienthongv1.ReceiveResponse_Chunk{
				Chunk: &lienthongv1.FileChunk{FileIndex: m.Index, Data: bytes.Clone(m.Data)}}}
		}
		if !proto.Equal(got, want) {
			t.Errorf("%s: decoded %v, want %v", name, got, want)
		}
	}
	if err := m.unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0x12, 0x05, 0x01})}); err == nil {
		t.Error("truncated message decoded without error")
	}
}

// A delivery header keeps its bytes as the hub sent them, to be stored
// without encoding it again; no other message has any.
func TestReceiveMsgKeepsHeaderBytes(t *testing.T) {
	hdr := &lienthongv1.DeliveryHeader{
		Envelope: &lienthongv1.SignedEnvelope{Envelope: []byte("envelope"), Signature: []byte("sig")},
		Accepted: &lienthongv1.Receipt{Body: []byte("body"), Signature: []byte("hub")},
	}
	inner, err := proto.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := proto.Marshal(&lienthongv1.ReceiveResponse{Part: &lienthongv1.ReceiveResponse_Header{Header: hdr}})
	if err != nil {
		t.Fatal(err)
	}
	end, err := proto.Marshal(&lienthongv1.ReceiveResponse{Part: &lienthongv1.ReceiveResponse_End{End: &lienthongv1.DeliveryEnd{MessageId: "m1"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := new(receiveMsg)
	if err := m.unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}); err != nil {
		t.Fatal(err)
	}
	kept := m.Header
	if !bytes.Equal(kept, inner) || !proto.Equal(m.Other.GetHeader(), hdr) {
		t.Fatalf("header bytes %q, decoded %v", kept, m.Other.GetHeader())
	}
	// The next message reuses the buffer: the kept bytes stay.
	if err := m.unmarshal(mem.BufferSlice{mem.SliceBuffer(end)}); err != nil {
		t.Fatal(err)
	}
	if m.Header != nil || !bytes.Equal(kept, inner) {
		t.Errorf("after the next message: Header %q, kept %q", m.Header, kept)
	}
}
