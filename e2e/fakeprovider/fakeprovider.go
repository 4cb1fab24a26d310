// Package fakeprovider is a test double for the OpenAI and Anthropic APIs:
// an HTTP server on loopback that answers with recorded responses (lines of
// the llm_payloads corpus's transcripts.jsonl), byte for byte, and records
// every request it receives so a test can see exactly what reached the
// "provider" — which credential, which body.
//
// It knows nothing of either API: it serves whatever it was told to serve
// next, in order. JSON bodies go out in one write with Content-Length;
// server-sent event streams go out in several chunks, each flushed, cut at
// byte boundaries that do not respect event boundaries, so a chain in front
// of it really has to stream and re-assemble events.
package fakeprovider

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Recording is one recorded exchange: a line of transcripts.jsonl. Only the
// fields the fake and its tests use are decoded.
type Recording struct {
	ID          string          `json:"id"`
	Provider    string          `json:"provider"`
	Method      string          `json:"method"`
	Path        string          `json:"path"`
	RequestBody json.RawMessage `json:"request_body"`
	// Status is the recorded HTTP status; 0 for raw SSE files (no HTTP
	// exchange was recorded), served as 200.
	Status      int    `json:"status"`
	ContentType string `json:"response_content_type"`
	Body        string `json:"response_body"`
	// Reserialized is true where the corpus re-encoded a parsed body: such a
	// body is valid but not the provider's exact bytes.
	Reserialized bool        `json:"response_body_reserialized"`
	SSE          *SSESummary `json:"sse_summary,omitempty"`
}

// SSESummary is the corpus's summary of a recorded stream.
type SSESummary struct {
	Events    int             `json:"n_events"`
	Done      bool            `json:"done_sentinel"`
	LastUsage json.RawMessage `json:"last_usage"`
}

// Load reads recordings (JSON lines) from path, keyed by id.
func Load(path string) (map[string]Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]Recording{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r Recording
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if r.ID == "" {
			return nil, fmt.Errorf("%s:%d: recording without id", path, n)
		}
		out[r.ID] = r
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// IsStream reports whether the recorded response is a server-sent event
// stream.
func (r Recording) IsStream() bool {
	return strings.HasPrefix(strings.ToLower(r.ContentType), "text/event-stream")
}

// Response is what the fake answers with the recorded status, content type
// and body.
func (r Recording) Response() Response {
	st := r.Status
	if st == 0 {
		st = http.StatusOK
	}
	h := http.Header{}
	if r.ContentType != "" {
		h.Set("Content-Type", r.ContentType)
	}
	return Response{Status: st, Header: h, Body: []byte(r.Body)}
}

// Response is one answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Chunks is how many writes an event-stream body is cut into, each
	// flushed (default DefaultChunks). JSON and other bodies go in one write.
	Chunks int
	// Hold, when not nil, makes the fake stop after the first chunk of a
	// stream (the first whole event and a few bytes of the next) until Hold
	// is closed. A test reads the first event through the chain, then closes
	// Hold: that proves the chain passes the stream on as it comes instead
	// of buffering it.
	Hold <-chan struct{}
}

// DefaultChunks is the number of pieces a stream is written in.
const DefaultChunks = 7

// Request is one request the fake received.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	// Unexpected is true when nothing was queued for it (the fake answered
	// 500 with an error naming itself).
	Unexpected bool
}

// Server is a running fake provider.
type Server struct {
	srv  *httptest.Server
	done chan struct{}
	once sync.Once

	mu    sync.Mutex
	queue []Response
	reqs  []Request
}

// New starts a fake on a loopback port. Close it when done.
func New() *Server {
	s := &Server{done: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Addr is the fake's address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.srv.Listener.Addr().String() }

// URL is the fake's base URL.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the fake; held streams are released.
func (s *Server) Close() {
	s.once.Do(func() { close(s.done) })
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Enqueue adds answers for the next requests, in order.
func (s *Server) Enqueue(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, rs...)
}

// Pending is the number of queued answers not served yet.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Requests returns a copy of every request received so far, in order of
// arrival.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		r.Header = r.Header.Clone()
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
	if r.Host != "" {
		req.Header.Set("Host", r.Host)
	}
	s.mu.Lock()
	var resp Response
	ok := len(s.queue) > 0
	if ok {
		resp, s.queue = s.queue[0], s.queue[1:]
	}
	req.Unexpected = !ok
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	if err != nil {
		http.Error(w, "fakeprovider: reading the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"error":{"message":"fakeprovider: no response queued","type":"fakeprovider"}}`)
		return
	}
	s.write(w, r, resp)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, resp Response) {
	for k, vs := range resp.Header {
		w.Header()[k] = append([]string(nil), vs...)
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	stream := strings.HasPrefix(strings.ToLower(w.Header().Get("Content-Type")), "text/event-stream")
	if !stream {
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
		w.WriteHeader(status)
		w.Write(resp.Body)
		return
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	fl, _ := w.(http.Flusher)
	for i, c := range Split(resp.Body, resp.Chunks) {
		if i == 1 && resp.Hold != nil {
			select {
			case <-resp.Hold:
			case <-r.Context().Done():
				return
			case <-s.done:
				return
			}
		}
		if _, err := w.Write(c); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

// Split cuts a stream body into about n pieces (DefaultChunks when n < 2):
// the first ends a few bytes after the first event's blank line, so it
// holds one whole event and the start of the next; the rest is cut into
// equal pieces wherever the byte count falls, inside events and lines.
// Concatenated, the pieces are body.
func Split(body []byte, n int) [][]byte {
	if n < 2 {
		n = DefaultChunks
	}
	if len(body) == 0 {
		return nil
	}
	first := len(body)
	if i := firstEventEnd(body); i >= 0 {
		first = min(i+3, len(body))
	}
	out := [][]byte{body[:first]}
	rest := body[first:]
	if len(rest) == 0 {
		return out
	}
	size := max((len(rest)+n-2)/(n-1), 1)
	for len(rest) > 0 {
		k := min(size, len(rest))
		out = append(out, rest[:k])
		rest = rest[k:]
	}
	return out
}

// firstEventEnd is the index just past the first event's terminating blank
// line (LF LF, CR LF CR LF or CR CR), or -1.
func firstEventEnd(b []byte) int {
	best := -1
	for _, sep := range []string{"\n\n", "\r\n\r\n", "\r\r"} {
		if i := bytes.Index(b, []byte(sep)); i >= 0 && (best < 0 || i+len(sep) < best) {
			best = i + len(sep)
		}
	}
	return best
}
