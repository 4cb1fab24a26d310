package sse

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// want is the parsed part of an Event; Raw is checked by the invariants.
type want struct {
	Name, ID, LastEventID, Retry string
	Data                         string
	NoData                       bool // Data must be nil
}

func got(evs []Event) []want {
	out := make([]want, len(evs))
	for i, e := range evs {
		out[i] = want{Name: e.Name, ID: e.ID, LastEventID: e.LastEventID, Retry: e.Retry, Data: string(e.Data), NoData: e.Data == nil}
	}
	return out
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestScannerTestdata(t *testing.T) {
	tests := []struct {
		file    string
		want    []want
		pending string
	}{
		{
			file: "mcp.sse",
			want: []want{
				{Name: "message", Data: `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":true}},"serverInfo":{"name":"github-mcp","version":"0.4.0"}}}`},
				{NoData: true},
				{Name: "message", ID: "42", LastEventID: "42", Data: `{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"create_issue","description":"Create an issue","inputSchema":{"type":"object","properties":{"title":{"type":"string"}}}}]}}`},
				{Name: "message", LastEventID: "42", Data: `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t1","progress":50,"total":100}}`},
				{Name: "message", ID: "43", LastEventID: "43", Data: `{"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"line one\nline two"}],"isError":false}}`},
			},
		},
		{
			file: "openai.sse",
			want: []want{
				{Data: `{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`},
				{Data: `{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"}}]}`},
				{Data: `{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" world"}}]}`},
				{Data: `{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}`},
				{Data: `[DONE]`},
			},
		},
		{
			file: "anthropic_crlf.sse",
			want: []want{
				{Name: "message_start", Data: `{"type":"message_start","message":{"id":"msg_1","model":"claude","usage":{"input_tokens":10}}}`},
				{Name: "ping", Data: `{"type": "ping"}`},
				{Name: "content_block_delta", Data: `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`},
				{Name: "message_stop", Data: `{"type":"message_stop"}`},
			},
		},
		{
			file: "mcp_cr.sse", // CR-only line endings; the last event completes only at End
			want: []want{
				{Name: "message", ID: "7", LastEventID: "7", Data: `{"jsonrpc":"2.0","id":1,"result":{}}`},
				{LastEventID: "7", Data: "first\nsecond"},
			},
		},
		{
			file: "mixed.sse",
			want: []want{
				{NoData: true}, // BOM + comment
				{ID: "a-1", LastEventID: "a-1", Retry: "3000", Data: "line 1\nline 2\n\n two spaces"},
				{LastEventID: "", NoData: true}, // "id" without colon resets the last event ID
				{Data: "x"},                     // id containing NUL is ignored
				{NoData: true},                  // unknown field
				{NoData: true},                  // lone blank lines
				{NoData: true},
				{Data: ""},
				{Name: "endpoint", Data: "/messages?session=abc"},
			},
			pending: "data: trailing incomplete",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			in := readTestdata(t, tt.file)
			s := NewScanner(0)
			evs, err := s.Feed(in)
			if err != nil {
				t.Fatal(err)
			}
			if ev, ok := s.End(); ok {
				evs = append(evs, ev)
			}
			if g := got(evs); !reflect.DeepEqual(g, tt.want) {
				t.Errorf("events:\n got %+v\nwant %+v", g, tt.want)
			}
			if string(s.Pending()) != tt.pending {
				t.Errorf("pending = %q, want %q", s.Pending(), tt.pending)
			}
			checkConcat(t, in, evs, s.Pending())
		})
	}
}

func checkConcat(t testing.TB, in []byte, evs []Event, pending []byte) {
	t.Helper()
	var b []byte
	for _, e := range evs {
		b = append(b, e.Raw...)
	}
	b = append(b, pending...)
	if !bytes.Equal(b, in) {
		t.Fatalf("concat(Raw)+Pending != input\n got %q\nwant %q", b, in)
	}
}

// feedAll feeds the chunks, then ends the stream.
func feedAll(t testing.TB, max int, chunks [][]byte) ([]Event, []byte, error) {
	t.Helper()
	s := NewScanner(max)
	var all []Event
	for _, c := range chunks {
		evs, err := s.Feed(c)
		all = append(all, evs...)
		if err != nil {
			return all, s.Pending(), err
		}
	}
	if ev, ok := s.End(); ok {
		all = append(all, ev)
	}
	return all, bytes.Clone(s.Pending()), nil
}

// checkSplit is the core property: any chunking yields the same events as
// the whole input at once, and loses no byte.
func checkSplit(t testing.TB, in []byte, whole []Event, chunks [][]byte) {
	t.Helper()
	evs, pending, err := feedAll(t, len(in)+1, chunks)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(evs, whole) {
		t.Fatalf("chunks %q:\n got %+v\nwant %+v", chunks, got(evs), got(whole))
	}
	checkConcat(t, in, evs, pending)
}

func split(in []byte, at ...int) [][]byte {
	var out [][]byte
	prev := 0
	for _, i := range at {
		out = append(out, in[prev:i])
		prev = i
	}
	return append(out, in[prev:])
}

func TestScannerSplitInvariance(t *testing.T) {
	files, err := filepath.Glob("testdata/*.sse")
	if err != nil || len(files) == 0 {
		t.Fatal("no testdata", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in := readTestdata(t, filepath.Base(f))
			whole, _, err := feedAll(t, len(in)+1, [][]byte{in})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i <= len(in); i++ {
				checkSplit(t, in, whole, split(in, i))
			}
			ones := make([][]byte, len(in))
			for i := range in {
				ones[i] = in[i : i+1]
			}
			checkSplit(t, in, whole, ones)
			r := rand.New(rand.NewPCG(1, uint64(len(in))))
			for range 200 {
				n := r.IntN(8) + 1
				at := make([]int, n)
				for j := range at {
					at[j] = r.IntN(len(in) + 1)
				}
				sortInts(at)
				checkSplit(t, in, whole, split(in, at...))
			}
		})
	}
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func TestScannerLineEndings(t *testing.T) {
	tests := []struct {
		name, in string
		want     []want
		pending  string
	}{
		{"LF", "data: a\n\n", []want{{Data: "a"}}, ""},
		{"CRLF", "data: a\r\n\r\n", []want{{Data: "a"}}, ""},
		{"CR", "data: a\r\r", []want{{Data: "a"}}, ""},
		{"LFCR is two endings", "data: a\n\r", []want{{Data: "a"}}, ""},
		{"CR then CRLF", "data: a\r\r\n", []want{{Data: "a"}}, ""},
		{"no blank line", "data: a\n", nil, "data: a\n"},
		{"no colon", "data\n\n", []want{{Data: ""}}, ""},
		{"one space stripped", "data:  a\n\n", []want{{Data: " a"}}, ""},
		{"tab kept", "data:\ta\n\n", []want{{Data: "\ta"}}, ""},
		{"colon in value", "data: a:b\n\n", []want{{Data: "a:b"}}, ""},
		{"comment only", ":hi\n\n", []want{{NoData: true}}, ""},
		{"BOM", "\xEF\xBB\xBFdata: a\n\n", []want{{Data: "a"}}, ""},
		{"second BOM is a field name", "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n", []want{{NoData: true}}, ""},
		{"partial BOM", "\xEF\xBB", nil, "\xEF\xBB"},
		{"empty id resets", "id: 1\n\nid\n\ndata: x\n\n", []want{{ID: "1", LastEventID: "1", NoData: true}, {NoData: true}, {Data: "x"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			for i := 0; i <= len(in); i++ {
				evs, pending, err := feedAll(t, 0, split(in, i))
				if err != nil {
					t.Fatal(err)
				}
				if g := got(evs); !reflect.DeepEqual(g, tt.want) && !(len(g) == 0 && len(tt.want) == 0) {
					t.Fatalf("split %d: got %+v, want %+v", i, g, tt.want)
				}
				if string(pending) != tt.pending {
					t.Fatalf("split %d: pending %q, want %q", i, pending, tt.pending)
				}
				checkConcat(t, in, evs, pending)
			}
		})
	}
}

func TestScannerCRAtChunkEnd(t *testing.T) {
	s := NewScanner(0)
	evs, err := s.Feed([]byte("data: a\r\r"))
	if err != nil || len(evs) != 0 {
		t.Fatalf("a trailing CR may start a CRLF: got %d events, %v", len(evs), err)
	}
	evs, err = s.Feed([]byte("\ndata: b\n\n"))
	if err != nil || len(evs) != 2 || string(evs[0].Raw) != "data: a\r\r\n" || string(evs[1].Data) != "b" {
		t.Fatalf("got %+v, %v", got(evs), err)
	}
}

func TestScannerRawStable(t *testing.T) {
	// Returned events must survive later Feeds and reuse of the caller's chunk.
	in := readTestdata(t, "mcp.sse")
	s := NewScanner(0)
	chunk := make([]byte, 7)
	var evs []Event
	for off := 0; off < len(in); off += len(chunk) {
		n := copy(chunk, in[off:])
		e, err := s.Feed(chunk[:n])
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e...)
	}
	whole, _, _ := feedAll(t, 0, [][]byte{in})
	if !reflect.DeepEqual(evs, whole) {
		t.Fatal("events changed after later Feeds")
	}
}

func TestScannerTooLarge(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		events   int
		wantErr  bool
	}{
		{"complete event over limit", "data: 0123456789\n\n", 10, 0, true},
		{"incomplete event over limit", "data: 0123456789", 10, 0, true},
		{"earlier events returned", "data: a\n\ndata: 0123456789\n\n", 10, 1, true},
		{"exactly at limit", "data: 012\n\n", 11, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			for i := 0; i <= len(in); i++ {
				evs, pending, err := feedAll(t, tt.max, split(in, i))
				var b []byte
				for _, e := range evs {
					b = append(b, e.Raw...)
				}
				if b = append(b, pending...); !bytes.HasPrefix(in, b) {
					t.Fatalf("split %d: events+pending %q is not a prefix of the input", i, b)
				}
				if tt.wantErr != errors.Is(err, ErrEventTooLarge) {
					t.Fatalf("split %d: err = %v, want ErrEventTooLarge: %v", i, err, tt.wantErr)
				}
				if len(evs) != tt.events {
					t.Fatalf("split %d: %d events, want %d", i, len(evs), tt.events)
				}
			}
		})
	}
	s := NewScanner(4)
	if _, err := s.Feed([]byte("data: big")); !errors.Is(err, ErrEventTooLarge) {
		t.Fatal(err)
	}
	if _, err := s.Feed([]byte("\n\n")); !errors.Is(err, ErrEventTooLarge) {
		t.Fatal("error must be sticky")
	}
}

func BenchmarkScanner(b *testing.B) {
	one := readTestdata(b, "mcp.sse")
	one = append(one, readTestdata(b, "openai.sse")...)
	var in []byte
	for len(in) < 1<<20 {
		in = append(in, one...)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s := NewScanner(0)
		for off := 0; off < len(in); off += 1024 {
			if _, err := s.Feed(in[off:min(off+1024, len(in))]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
