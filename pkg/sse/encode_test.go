package sse

import (
	"reflect"
	"testing"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name, ev, id, retry string
		data                []byte
		out                 string
	}{
		{"data only", "", "", "", []byte(`{"a":1}`), "data: {\"a\":1}\n\n"},
		{"all fields", "message", "7", "1000", []byte("x"), "event: message\nid: 7\nretry: 1000\ndata: x\n\n"},
		{"multi-line", "", "", "", []byte("a\nb\r\nc\rd"), "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"empty data", "", "", "", []byte{}, "data:\n\n"},
		{"nil data", "", "9", "", nil, "id: 9\n\n"},
		{"trailing newline", "", "", "", []byte("a\n"), "data: a\ndata:\n\n"},
		{"leading space kept", "", "", "", []byte(" a"), "data:  a\n\n"},
		{"no injection", "x\ndata: evil", "1\r\n\r\n", "", []byte("ok"), "event: x data: evil\nid: 1    \ndata: ok\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Encode(tt.ev, tt.id, tt.retry, tt.data)
			if string(out) != tt.out {
				t.Fatalf("got %q, want %q", out, tt.out)
			}
			// What we encode must scan back to one event with the same fields
			// (CR and CRLF in data read back as "\n").
			evs, err := NewScanner(0).Feed(out)
			if err != nil || len(evs) != 1 {
				t.Fatalf("scan back: %d events, %v", len(evs), err)
			}
			e := evs[0]
			if tt.data != nil && tt.name != "multi-line" && !reflect.DeepEqual(e.Data, tt.data) {
				t.Errorf("data round trip: %q", e.Data)
			}
			if tt.data == nil && e.Data != nil {
				t.Errorf("nil data read back as %q", e.Data)
			}
			if tt.name == "multi-line" && string(e.Data) != "a\nb\nc\nd" {
				t.Errorf("data = %q", e.Data)
			}
		})
	}
}
