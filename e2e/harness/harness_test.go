package harness

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	extprocsvc "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/agentguard/agentguard/e2e/envoyconfig"
)

// ---- fake ext_proc server (not agentguard: the harness is checked on its own)

type procFunc func(md metadata.MD, req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse

type fakeProc struct {
	extprocsvc.UnimplementedExternalProcessorServer
	fn   procFunc
	mu   sync.Mutex
	seen []*extprocsvc.ProcessingRequest
	md   []metadata.MD
}

func (p *fakeProc) Process(s extprocsvc.ExternalProcessor_ProcessServer) error {
	md, _ := metadata.FromIncomingContext(s.Context())
	p.mu.Lock()
	p.md = append(p.md, md)
	p.mu.Unlock()
	for {
		req, err := s.Recv()
		if err != nil {
			return nil
		}
		p.mu.Lock()
		p.seen = append(p.seen, req)
		p.mu.Unlock()
		resp := p.fn(md, req)
		if resp == nil {
			resp = cont(req)
		}
		if err := s.Send(resp); err != nil {
			return nil
		}
	}
}

func (p *fakeProc) kinds() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.seen {
		switch r.GetRequest().(type) {
		case *extprocsvc.ProcessingRequest_RequestHeaders:
			out = append(out, "request_headers")
		case *extprocsvc.ProcessingRequest_RequestBody:
			out = append(out, "request_body")
		case *extprocsvc.ProcessingRequest_ResponseHeaders:
			out = append(out, "response_headers")
		case *extprocsvc.ProcessingRequest_ResponseBody:
			out = append(out, "response_body")
		default:
			out = append(out, "other")
		}
	}
	return out
}

// cont is the empty answer to req: CONTINUE, nothing changed.
func cont(req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse {
	return answer(req, &extprocsvc.CommonResponse{})
}

func answer(req *extprocsvc.ProcessingRequest, cr *extprocsvc.CommonResponse) *extprocsvc.ProcessingResponse {
	switch req.GetRequest().(type) {
	case *extprocsvc.ProcessingRequest_RequestHeaders:
		return &extprocsvc.ProcessingResponse{Response: &extprocsvc.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocsvc.HeadersResponse{Response: cr}}}
	case *extprocsvc.ProcessingRequest_ResponseHeaders:
		return &extprocsvc.ProcessingResponse{Response: &extprocsvc.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocsvc.HeadersResponse{Response: cr}}}
	case *extprocsvc.ProcessingRequest_RequestBody:
		return &extprocsvc.ProcessingResponse{Response: &extprocsvc.ProcessingResponse_RequestBody{RequestBody: &extprocsvc.BodyResponse{Response: cr}}}
	case *extprocsvc.ProcessingRequest_ResponseBody:
		return &extprocsvc.ProcessingResponse{Response: &extprocsvc.ProcessingResponse_ResponseBody{ResponseBody: &extprocsvc.BodyResponse{Response: cr}}}
	}
	return &extprocsvc.ProcessingResponse{}
}

func set(k, v string, a corev3.HeaderValueOption_HeaderAppendAction) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}, AppendAction: a}
}

// ---- fake ext_authz server

type authzFunc func(req *authv3.CheckRequest) (*authv3.CheckResponse, error)

type fakeAuthz struct {
	authv3.UnimplementedAuthorizationServer
	fn   authzFunc
	mu   sync.Mutex
	seen []*authv3.CheckRequest
}

func (a *fakeAuthz) Check(_ context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	a.mu.Lock()
	a.seen = append(a.seen, req)
	a.mu.Unlock()
	return a.fn(req)
}

// ---- fixtures

func serveGRPC(t *testing.T, register func(*grpc.Server)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	register(s)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// upstream is an httptest server that records what reached it.
type upstream struct {
	*httptest.Server
	calls atomic.Int32
	mu    sync.Mutex
	last  *http.Request
	body  string
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.last, u.body = r, string(b)
		u.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("content-type", "text/plain")
		io.WriteString(w, "upstream ok")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) got() (*http.Request, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last, u.body
}

type fixture struct {
	h       *Harness
	proc    *fakeProc
	authz   *fakeAuthz
	up, up2 *upstream
}

func start(t *testing.T, proc procFunc, authz authzFunc, up, up2 http.HandlerFunc) *fixture {
	t.Helper()
	b, err := envoyconfig.Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{proc: &fakeProc{fn: proc}, authz: &fakeAuthz{fn: authz}}
	if proc == nil {
		f.proc.fn = func(metadata.MD, *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse { return nil }
	}
	if authz == nil {
		f.authz.fn = func(*authv3.CheckRequest) (*authv3.CheckResponse, error) {
			return &authv3.CheckResponse{Status: &status.Status{}}, nil
		}
	}
	procAddr := serveGRPC(t, func(s *grpc.Server) { extprocsvc.RegisterExternalProcessorServer(s, f.proc) })
	authzAddr := serveGRPC(t, func(s *grpc.Server) { authv3.RegisterAuthorizationServer(s, f.authz) })
	// A port nothing listens on: taken, then released.
	dl, _ := net.Listen("tcp", "127.0.0.1:0")
	downAddr := dl.Addr().String()
	dl.Close()
	f.up, f.up2 = newUpstream(t, up), newUpstream(t, up2)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var log *slog.Logger
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	f.h, err = Start(ctx, b, Options{
		Listen: map[uint32]string{10001: "127.0.0.1:0", 10002: "127.0.0.1:0", 10003: "127.0.0.1:0", 10004: "127.0.0.1:0"},
		Clusters: map[string]string{
			"procsvc": procAddr, "authzsvc": authzAddr, "downsvc": downAddr,
			"up": f.up.Listener.Addr().String(), "up2": f.up2.Listener.Addr().String(),
		},
		Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.h.Close() })
	return f
}

func (f *fixture) url(port uint32, path string) string { return "http://" + f.h.Addr(port) + path }

func do(t *testing.T, method, url, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rb)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// ---- tests

func TestHeaderMutationAndForbiddenHeaders(t *testing.T) {
	f := start(t, func(md metadata.MD, req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse {
		if req.GetRequestHeaders() == nil {
			return nil
		}
		return answer(req, &extprocsvc.CommonResponse{HeaderMutation: &extprocsvc.HeaderMutation{
			SetHeaders: []*corev3.HeaderValueOption{
				set("x-added", "yes", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD),
				set("x-existing", "new", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD),
				set("x-absent-only", "ignored", corev3.HeaderValueOption_ADD_IF_ABSENT),
				set("x-missing", "never", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS),
				{Header: &corev3.HeaderValue{Key: "x-multi", Value: "b"}, Append: wrapTrue()},
				// Refused by the default mutation rules:
				set("host", "evil.example", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD),
				set(":authority", "evil.example", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD),
				set(":method", "DELETE", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD),
				set("x-envoy-original", "x", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD),
				// Allowed: :path is not a routing header in the rules.
				set(":path", "/rewritten", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD),
			},
			RemoveHeaders: []string{"x-remove-me", ":scheme", "host"},
		}})
	}, nil, nil, nil)
	resp, _ := do(t, "GET", f.url(10001, "/a"), "", map[string]string{
		"x-existing": "old", "x-absent-only": "kept", "x-multi": "a", "x-remove-me": "1",
		PeerSANHeader: "spiffe://test/agent", "x-forwarded-client-cert": "forged",
	})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r, _ := f.up.got()
	checks := map[string]string{"x-added": "yes", "x-existing": "new", "x-absent-only": "kept", "x-missing": "",
		"x-envoy-original": "", "x-remove-me": "", PeerSANHeader: "", "x-forwarded-client-cert": "URI=spiffe://test/agent"}
	for k, want := range checks {
		if got := r.Header.Get(k); got != want {
			t.Errorf("upstream %s = %q, want %q", k, got, want)
		}
	}
	if got := r.Header.Values("x-multi"); len(got) != 2 {
		t.Errorf("x-multi = %q, want appended", got)
	}
	if r.Method != "GET" || strings.Contains(r.Host, "evil") || r.URL.Path != "/rewritten" {
		t.Errorf("method %s host %s path %s", r.Method, r.Host, r.URL.Path)
	}
	// What the processor saw: initial metadata (filter + per-route),
	// attributes, protocol_config on the first message only.
	f.proc.mu.Lock()
	md, first := f.proc.md[0], f.proc.seen[0]
	later := f.proc.seen[1]
	f.proc.mu.Unlock()
	if md.Get("x-test-profile")[0] != "proc" || md.Get("x-route-meta")[0] != "from-route" {
		t.Errorf("metadata %v", md)
	}
	attrs := first.GetAttributes()[extProcFilterName].GetFields()
	if attrs["destination.port"].GetNumberValue() != 10001 || attrs["connection.uri_san_peer_certificate"].GetStringValue() != "spiffe://test/agent" {
		t.Errorf("attributes %v", attrs)
	}
	if first.GetProtocolConfig().GetRequestBodyMode() != extprocv3.ProcessingMode_BUFFERED || later.GetProtocolConfig() != nil {
		t.Errorf("protocol_config first %v later %v", first.GetProtocolConfig(), later.GetProtocolConfig())
	}
	if !first.GetRequestHeaders().GetEndOfStream() {
		t.Error("GET headers without end_of_stream")
	}
}

func wrapTrue() *wrapperspb.BoolValue { return wrapperspb.Bool(true) }

func TestClearRouteCacheReroutes(t *testing.T) {
	for _, clear := range []bool{false, true} {
		f := start(t, func(_ metadata.MD, req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse {
			if req.GetRequestHeaders() == nil {
				return nil
			}
			return answer(req, &extprocsvc.CommonResponse{ClearRouteCache: clear, HeaderMutation: &extprocsvc.HeaderMutation{
				SetHeaders: []*corev3.HeaderValueOption{set("x-route-to", "up2", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)}}})
		}, nil, nil, nil)
		resp, _ := do(t, "GET", f.url(10001, "/routed"), "", nil)
		if clear {
			if resp.StatusCode != 200 || f.up2.calls.Load() != 1 {
				t.Errorf("clear_route_cache: status %d, up2 calls %d", resp.StatusCode, f.up2.calls.Load())
			}
			continue
		}
		// The route was matched without the header: no cluster, 503
		// (cluster_not_found_response_code default).
		if resp.StatusCode != 503 || f.up2.calls.Load() != 0 {
			t.Errorf("no clear: status %d, up2 calls %d", resp.StatusCode, f.up2.calls.Load())
		}
	}
}

func TestImmediateResponse(t *testing.T) {
	f := start(t, func(_ metadata.MD, req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse {
		return &extprocsvc.ProcessingResponse{Response: &extprocsvc.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocsvc.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode_TooManyRequests},
			Headers: &extprocsvc.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{set("retry-after", "7", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)}},
			Body:    []byte(`{"error":"slow down"}`),
		}}}
	}, nil, nil, nil)
	resp, body := do(t, "POST", f.url(10001, "/a"), `{"x":1}`, nil)
	if resp.StatusCode != 429 || resp.Header.Get("retry-after") != "7" || body != `{"error":"slow down"}` {
		t.Errorf("got %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if n := f.up.calls.Load(); n != 0 {
		t.Errorf("upstream called %d times", n)
	}
	if k := f.proc.kinds(); len(k) != 1 {
		t.Errorf("processor saw %v after an immediate response", k)
	}
}

func TestBufferedBodyMutationContentLength(t *testing.T) {
	const newBody = `{"redacted":true}`
	for _, tc := range []struct {
		name   string
		setCL  bool
		status int
	}{{"content-length set", true, 200}, {"content-length mismatch", false, 500}} {
		t.Run(tc.name, func(t *testing.T) {
			f := start(t, func(_ metadata.MD, req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse {
				if req.GetRequestBody() == nil {
					return nil
				}
				if !req.GetRequestBody().GetEndOfStream() || string(req.GetRequestBody().GetBody()) != `{"secret":"abc"}` {
					t.Errorf("body message %v", req.GetRequestBody())
				}
				cr := &extprocsvc.CommonResponse{BodyMutation: &extprocsvc.BodyMutation{Mutation: &extprocsvc.BodyMutation_Body{Body: []byte(newBody)}}}
				if tc.setCL {
					cr.HeaderMutation = &extprocsvc.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{
						set("content-length", "17", corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD)}}
				}
				return answer(req, cr)
			}, nil, nil, nil)
			resp, _ := do(t, "POST", f.url(10001, "/a"), `{"secret":"abc"}`, nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				if f.up.calls.Load() != 0 {
					t.Error("upstream called after a refused body mutation")
				}
				return
			}
			r, body := f.up.got()
			if body != newBody || r.ContentLength != int64(len(newBody)) || r.Header.Get("content-length") != "" && r.Header.Get("content-length") != "17" {
				t.Errorf("upstream body %q content-length %d", body, r.ContentLength)
			}
		})
	}
}

func TestStreamedResponseIsIncremental(t *testing.T) {
	release := make(chan struct{})
	f := start(t, func(_ metadata.MD, req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse {
		switch {
		case req.GetResponseHeaders() != nil:
			r := cont(req)
			r.ModeOverride = &extprocv3.ProcessingMode{ResponseBodyMode: extprocv3.ProcessingMode_STREAMED}
			return r
		case req.GetResponseBody() != nil:
			b := strings.ToUpper(string(req.GetResponseBody().GetBody()))
			return answer(req, &extprocsvc.CommonResponse{BodyMutation: &extprocsvc.BodyMutation{Mutation: &extprocsvc.BodyMutation_Body{Body: []byte(b)}}})
		}
		return nil
	}, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(w, "data: two\n\n")
	}, nil)
	resp, err := http.Get(f.url(10001, "/sse"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 {
		t.Errorf("content-length %d on a streamed body", resp.ContentLength)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "DATA: ONE\n" {
		t.Fatalf("first chunk %q %v", line, err)
	}
	close(release) // the upstream sends the second event only now
	rest, _ := io.ReadAll(br)
	if string(rest) != "\nDATA: TWO\n\n" {
		t.Errorf("rest %q", rest)
	}
}

func TestModeOverride(t *testing.T) {
	override := &extprocv3.ProcessingMode{ResponseBodyMode: extprocv3.ProcessingMode_BUFFERED}
	t.Run("honoured in a headers answer", func(t *testing.T) {
		f := start(t, func(_ metadata.MD, req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse {
			if req.GetResponseHeaders() != nil {
				r := cont(req)
				r.ModeOverride = override
				return r
			}
			return nil
		}, nil, nil, nil)
		do(t, "GET", f.url(10001, "/a"), "", nil)
		if k := f.proc.kinds(); strings.Join(k, ",") != "request_headers,response_headers,response_body" {
			t.Errorf("messages %v", k)
		}
	})
	t.Run("ignored in a body answer", func(t *testing.T) {
		f := start(t, func(_ metadata.MD, req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse {
			if req.GetRequestBody() != nil {
				r := cont(req)
				r.ModeOverride = override
				return r
			}
			return nil
		}, nil, nil, nil)
		do(t, "POST", f.url(10001, "/a"), "body", nil)
		if k := f.proc.kinds(); strings.Join(k, ",") != "request_headers,request_body,response_headers" {
			t.Errorf("messages %v", k)
		}
	})
	t.Run("ignored without allow_mode_override", func(t *testing.T) {
		f := start(t, func(_ metadata.MD, req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse {
			if req.GetResponseHeaders() != nil {
				r := cont(req)
				r.ModeOverride = override
				return r
			}
			return nil
		}, nil, nil, nil)
		do(t, "GET", f.url(10002, "/a"), "", nil)
		if k := f.proc.kinds(); strings.Join(k, ",") != "request_headers,response_headers" {
			t.Errorf("messages %v", k)
		}
	})
}

func TestMessageTimeoutIs504(t *testing.T) {
	f := start(t, func(_ metadata.MD, req *extprocsvc.ProcessingRequest) *extprocsvc.ProcessingResponse {
		time.Sleep(time.Second) // message_timeout is 0.3s
		return nil
	}, nil, nil, nil)
	resp, _ := do(t, "GET", f.url(10001, "/a"), "", nil)
	if resp.StatusCode != 504 || f.up.calls.Load() != 0 {
		t.Errorf("status %d, upstream calls %d", resp.StatusCode, f.up.calls.Load())
	}
}

func TestProcessorDownIs500(t *testing.T) {
	f := start(t, nil, nil, nil, nil)
	resp, _ := do(t, "GET", f.url(10003, "/a"), "", nil)
	if resp.StatusCode != 500 || f.up.calls.Load() != 0 {
		t.Errorf("status %d, upstream calls %d", resp.StatusCode, f.up.calls.Load())
	}
}

func TestBodyOverBufferLimitIs413(t *testing.T) {
	f := start(t, nil, nil, nil, nil)
	resp, body := do(t, "POST", f.url(10001, "/a"), strings.Repeat("x", 2048), nil) // limit 1024
	if resp.StatusCode != 413 || f.up.calls.Load() != 0 {
		t.Errorf("status %d, upstream calls %d", resp.StatusCode, f.up.calls.Load())
	}
	// The listener's local_reply_config reshapes Envoy's own 413.
	if ct := resp.Header.Get("content-type"); ct != "application/json" || body != `{"error":{"code":"request_too_large"}}` {
		t.Errorf("local reply not mapped: %q %q", ct, body)
	}
	for _, k := range f.proc.kinds() {
		if k == "request_body" {
			t.Error("the processor saw a body over the limit")
		}
	}
}

func TestPathNormalization(t *testing.T) {
	f := start(t, nil, nil, nil, nil)
	if resp, _ := do(t, "GET", f.url(10001, "/a%2Fb"), "", nil); resp.StatusCode != 400 {
		t.Errorf("escaped slash: %d", resp.StatusCode)
	}
	do(t, "GET", f.url(10001, "/x//y/../z"), "", nil)
	if r, _ := f.up.got(); r.URL.Path != "/x/z" {
		t.Errorf("normalized path %q", r.URL.Path)
	}
}

func TestExtAuthz(t *testing.T) {
	t.Run("allow adds a header and re-routes", func(t *testing.T) {
		f := start(t, nil, func(req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
			return &authv3.CheckResponse{Status: &status.Status{}, HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				Headers:         []*corev3.HeaderValueOption{set("x-route-to", "up2", 0), set("x-authz", "ok", 0)},
				HeadersToRemove: []string{"authorization", ":path"},
			}}}, nil
		}, nil, nil)
		resp, _ := do(t, "POST", f.url(10004, "/mcp"), "hello", map[string]string{"authorization": "secret", PeerSANHeader: "spiffe://a"})
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		r, body := f.up2.got()
		if r == nil || r.Header.Get("x-authz") != "ok" || r.Header.Get("authorization") != "" || body != "hello" || r.URL.Path != "/mcp" {
			t.Fatalf("upstream got %v %q", r, body)
		}
		f.authz.mu.Lock()
		cr := f.authz.seen[0]
		f.authz.mu.Unlock()
		a := cr.GetAttributes()
		h := a.GetRequest().GetHttp()
		if string(h.GetRawBody()) != "hello" || h.GetHeaders()["x-envoy-auth-partial-body"] != "false" ||
			a.GetContextExtensions()["profile"] != "test" || a.GetSource().GetPrincipal() != "spiffe://a" ||
			a.GetDestination().GetAddress().GetSocketAddress().GetPortValue() != 10004 || h.GetMethod() != "POST" || h.GetPath() != "/mcp" {
			t.Errorf("check request %v", a)
		}
	})
	t.Run("deny", func(t *testing.T) {
		f := start(t, nil, func(req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
			return &authv3.CheckResponse{Status: &status.Status{Code: int32(codes.PermissionDenied)}, HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
				Status:  &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized},
				Headers: []*corev3.HeaderValueOption{set("content-type", "application/json", 0)},
				Body:    `{"error":"denied"}`,
			}}}, nil
		}, nil, nil)
		resp, body := do(t, "GET", f.url(10004, "/mcp"), "", map[string]string{"x-route-to": "up"})
		if resp.StatusCode != 401 || body != `{"error":"denied"}` || resp.Header.Get("content-type") != "application/json" || f.up.calls.Load() != 0 {
			t.Errorf("got %d %q %v", resp.StatusCode, body, resp.Header)
		}
	})
	t.Run("failure is 403", func(t *testing.T) {
		f := start(t, nil, func(req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
			return nil, grpcstatus.Error(codes.Internal, "boom")
		}, nil, nil)
		resp, _ := do(t, "GET", f.url(10004, "/mcp"), "", map[string]string{"x-route-to": "up"})
		if resp.StatusCode != 403 || f.up.calls.Load() != 0 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("body over max_request_bytes is 413", func(t *testing.T) {
		f := start(t, nil, nil, nil, nil)
		resp, _ := do(t, "POST", f.url(10004, "/mcp"), strings.Repeat("x", 100), map[string]string{"x-route-to": "up"})
		if resp.StatusCode != 413 || len(f.authz.seen) != 0 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	f := start(t, nil, nil, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		n := len(times)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("retry-after", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "done")
	}, nil)
	resp, body := do(t, "POST", f.url(10001, "/retry"), "payload", nil)
	if resp.StatusCode != 200 || body != "done" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(times) != 2 {
		t.Fatalf("%d attempts", len(times))
	}
	if _, b := f.up.got(); b != "payload" {
		t.Errorf("retried body %q", b)
	}
}

// The repository's Envoy configs start with every listener on loopback.
func TestStartRepoConfigs(t *testing.T) {
	for _, name := range []string{"../../envoy/envoy-local.yaml", "../../envoy/envoy-extauthz.yaml"} {
		t.Run(name, func(t *testing.T) {
			b, err := envoyconfig.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			listen := map[uint32]string{}
			for _, l := range b.GetStaticResources().GetListeners() {
				listen[l.GetAddress().GetSocketAddress().GetPortValue()] = "127.0.0.1:0"
			}
			h, err := Start(context.Background(), b, Options{Listen: listen})
			if err != nil {
				t.Fatal(err)
			}
			for port := range listen {
				addr := h.Addr(port)
				if addr == "" {
					t.Errorf("no listener for %d", port)
					continue
				}
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Errorf("dial %d: %v", port, err)
					continue
				}
				c.Close()
			}
			if err := h.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			for port := range listen {
				if c, err := net.DialTimeout("tcp", h.Addr(port), time.Second); err == nil {
					c.Close()
					t.Errorf("listener %d still open after Close", port)
				}
			}
		})
	}
}

// HTTP/2 by prior knowledge (h2c) is served too.
func TestH2C(t *testing.T) {
	f := start(t, nil, nil, nil, nil)
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: &http.Transport{Protocols: &protos}}
	t.Cleanup(c.CloseIdleConnections)
	resp, err := c.Post(f.url(10001, "/h2"), "text/plain", strings.NewReader("over h2"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(b) != "upstream ok" {
		t.Errorf("proto %d status %d body %q", resp.ProtoMajor, resp.StatusCode, b)
	}
	if _, body := f.up.got(); body != "over h2" {
		t.Errorf("upstream body %q", body)
	}
	if k := f.proc.kinds(); strings.Join(k, ",") != "request_headers,request_body,response_headers" {
		t.Errorf("messages %v", k)
	}
}

// The wait before a rate-limited retry is what the reset header asks, as a
// computed duration (no clock is read): a header over max_interval is
// discarded for the next, and without one the jittered back-off applies.
func TestRetryBackOffFromResetHeaders(t *testing.T) {
	p := &retryPolicy{
		base: 25 * time.Millisecond, max: 250 * time.Millisecond, resetMax: 30 * time.Second,
		resetHeaders: []resetHeader{{name: "retry-after", seconds: true}, {name: "x-ratelimit-reset", seconds: true}},
	}
	cases := []struct {
		h    http.Header
		want time.Duration
	}{
		{http.Header{"Retry-After": {"1"}}, time.Second},
		{http.Header{"Retry-After": {"120"}, "X-Ratelimit-Reset": {"3"}}, 3 * time.Second},
		{http.Header{"Retry-After": {"soon"}, "X-Ratelimit-Reset": {"2"}}, 2 * time.Second},
	}
	for _, c := range cases {
		if got := p.backOff(1, c.h); got != c.want {
			t.Errorf("%v: %v, want %v", c.h, got, c.want)
		}
	}
	for n := 1; n < 6; n++ {
		if got := p.backOff(n, http.Header{"Retry-After": {"999"}}); got < 0 || got > p.max {
			t.Errorf("default back-off %v outside [0, %v]", got, p.max)
		}
	}
}
