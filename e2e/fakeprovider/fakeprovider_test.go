package fakeprovider

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const recordings = "../testdata/llm/recordings.jsonl"

func load(t *testing.T) map[string]Recording {
	t.Helper()
	recs, err := Load(recordings)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestLoad(t *testing.T) {
	recs := load(t)
	if len(recs) != 6 {
		t.Fatalf("%d recordings, want 6", len(recs))
	}
	for id, r := range recs {
		if r.Reserialized {
			t.Errorf("%s: body re-serialized by the corpus; the e2e suite wants recorded bytes", id)
		}
		if r.Body == "" || r.Path == "" {
			t.Errorf("%s: empty body or path", id)
		}
		if r.IsStream() && (r.SSE == nil || len(r.SSE.LastUsage) == 0) {
			t.Errorf("%s: stream without a recorded final usage", id)
		}
	}
}

func TestServeRecordedBytes(t *testing.T) {
	recs := load(t)
	s := New()
	defer s.Close()
	for id, r := range recs {
		t.Run(id, func(t *testing.T) {
			s.Enqueue(r.Response())
			req, _ := http.NewRequest(http.MethodPost, s.URL()+r.Path+"?beta=true", strings.NewReader(`{"model":"m"}`))
			req.Header.Set("Authorization", "Bearer k")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			want := r.Status
			if want == 0 {
				want = 200
			}
			if resp.StatusCode != want {
				t.Errorf("status %d, want %d", resp.StatusCode, want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != r.ContentType {
				t.Errorf("content-type %q, want %q", ct, r.ContentType)
			}
			if !bytes.Equal(got, []byte(r.Body)) {
				t.Errorf("body differs from the recording:\n got %q\nwant %q", got, r.Body)
			}
			if r.IsStream() && resp.ContentLength != -1 {
				t.Errorf("stream sent with content-length %d", resp.ContentLength)
			}
			reqs := s.Requests()
			last := reqs[len(reqs)-1]
			if last.Method != http.MethodPost || last.Path != r.Path || last.RawQuery != "beta=true" ||
				last.Header.Get("Authorization") != "Bearer k" || string(last.Body) != `{"model":"m"}` || last.Unexpected {
				t.Errorf("recorded request %+v", last)
			}
		})
	}
	if s.Pending() != 0 {
		t.Errorf("%d answers left", s.Pending())
	}
}

func TestNothingQueued(t *testing.T) {
	s := New()
	defer s.Close()
	resp, err := http.Post(s.URL()+"/v1/chat/completions", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(b), "fakeprovider: no response queued") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
	if r := s.Requests(); len(r) != 1 || !r[0].Unexpected {
		t.Errorf("requests %+v", r)
	}
}

func TestSplit(t *testing.T) {
	body := []byte("data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n")
	for _, n := range []int{0, 2, 3, 7, 100} {
		parts := Split(body, n)
		if !bytes.Equal(bytes.Join(parts, nil), body) {
			t.Errorf("n=%d: pieces do not join to the body", n)
		}
		if string(parts[0]) != "data: {\"a\":1}\n\ndat" {
			t.Errorf("n=%d: first piece %q", n, parts[0])
		}
		if n >= 3 && len(parts) < 3 {
			t.Errorf("n=%d: %d pieces", n, len(parts))
		}
	}
	if p := Split([]byte("no events"), 3); len(p) != 1 {
		t.Errorf("body without an event: %q", p)
	}
	crlf := Split([]byte("data: x\r\n\r\ndata: y\r\n\r\n"), 2)
	if string(crlf[0]) != "data: x\r\n\r\ndat" {
		t.Errorf("CRLF first piece %q", crlf[0])
	}
}

// TestHoldStreams shows a held stream reaches the client piece by piece:
// the first event arrives while the fake still holds the rest.
func TestHoldStreams(t *testing.T) {
	recs := load(t)
	r := recs["envoy_ai_gateway_openai_cassettes/chat-streaming-detailed-usage.yaml#0"]
	s := New()
	defer s.Close()
	hold := make(chan struct{})
	resp := r.Response()
	resp.Hold = hold
	s.Enqueue(resp)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound against hanging, not a timing assertion
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/v1/chat/completions", strings.NewReader("{}"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("first line while held: %v", err)
	}
	if !strings.HasPrefix(line, "data: {") {
		t.Fatalf("first line %q", line)
	}
	close(hold)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if line+string(rest) != r.Body {
		t.Error("held stream differs from the recording")
	}
}

func TestCloseReleasesHeldStream(t *testing.T) {
	recs := load(t)
	r := recs["pydantic_ai_cassettes/anthropic/test_anthropic_model_thinking_part_stream.yaml#0"]
	s := New()
	resp := r.Response()
	resp.Hold = make(chan struct{}) // never closed
	s.Enqueue(resp)
	res, err := http.Post(s.URL()+"/v1/messages", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(res.Body, buf); err != nil {
		t.Fatal(err)
	}
	go func() { io.Copy(io.Discard, res.Body); res.Body.Close() }()
	s.Close() // must return although the stream is held
}
