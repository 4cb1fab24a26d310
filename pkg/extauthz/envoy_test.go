package extauthz

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/agentguard/agentguard/pkg/engine"
	"github.com/agentguard/agentguard/pkg/telemetry"
	"github.com/agentguard/agentguard/policies"
)

// fakeEnvoy sends CheckRequests the way Envoy's HTTP ext_authz filter
// builds them (check_request_utils.cc): the request headers with the
// pseudo-headers in one map, the http attributes, the body in raw_body with
// x-envoy-auth-partial-body when with_request_body buffered it, the peer
// principal, the destination port and the route's context_extensions. It
// talks to a real Server over gRPC with the generated client.
type fakeEnvoy struct {
	t       *testing.T
	client  authv3.AuthorizationClient
	server  *Server
	audit   *syncBuffer
	logs    *syncBuffer // every log line, at debug level
	metrics *telemetry.Metrics
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const (
	reviewer     = "spiffe://cluster.local/ns/agents/sa/code-reviewer"
	openaiKey    = "sk-test-OPENAIKEYSECRET0123456789"
	anthropicKey = "sk-ant-test-ANTHROPICKEYSECRET0123"
	hookSecret   = "test-WEBHOOK-KEYSECRET"
)

// newFakeEnvoy serves config (nil: the default deployment) with the
// provider keys and webhook secret in the environment.
func newFakeEnvoy(t *testing.T, config []byte) *fakeEnvoy {
	t.Helper()
	setSecrets(t)
	return startFakeEnvoy(t, config)
}

func setSecrets(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", openaiKey)
	t.Setenv("ANTHROPIC_API_KEY", anthropicKey)
	t.Setenv("GITHUB_WEBHOOK_SECRET", hookSecret)
}

// startFakeEnvoy is newFakeEnvoy with the environment as it is: the engine
// reads credentials from it when the config is compiled.
func startFakeEnvoy(t *testing.T, config []byte) *fakeEnvoy {
	t.Helper()
	if config == nil {
		config = policies.CodeReview
	}
	rt, err := engine.LoadFile("test.yaml", config)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	audit, logs := &syncBuffer{}, &syncBuffer{}
	metrics := telemetry.NewMetrics()
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := engine.New(rt, engine.Options{Log: log, Metrics: metrics, Audit: telemetry.NewAuditor(audit)})
	srv := New(eng, log)
	client := serve(t, srv, grpc.MaxRecvMsgSize(16<<20))
	return &fakeEnvoy{t: t, client: client, server: srv, audit: audit, logs: logs, metrics: metrics}
}

// serve runs srv on an in-memory listener and returns a client of it.
func serve(tb testing.TB, srv authv3.AuthorizationServer, opts ...grpc.ServerOption) authv3.AuthorizationClient {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer(opts...)
	authv3.RegisterAuthorizationServer(gs, srv)
	go gs.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(16<<20)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close(); gs.Stop() })
	return authv3.NewAuthorizationClient(conn)
}

// check is one request as the ext_authz filter sees it.
type check struct {
	profile   string // context_extensions profile ("" none)
	mdProfile string // x-agentguard-profile gRPC metadata ("" none)
	port      uint32 // destination port (0: none)
	principal string // attributes.source.principal
	headers   map[string]string
	body      []byte // nil: no body sent
	partial   bool   // Envoy cut the body at max_request_bytes
	// stringBody sends the body in body rather than raw_body
	// (pack_as_bytes: false); rawHeaders in header_map (encode_raw_headers).
	stringBody, rawHeaders bool
}

func (c check) request() *authv3.CheckRequest {
	hs := map[string]string{":method": "POST", ":path": "/mcp", ":authority": "agentguard.test", ":scheme": "http",
		"x-request-id": "req-1"}
	for k, v := range c.headers {
		if v == "" {
			delete(hs, k)
		} else {
			hs[k] = v
		}
	}
	hr := &authv3.AttributeContext_HttpRequest{
		Id: "1", Method: hs[":method"], Path: hs[":path"], Host: hs[":authority"], Scheme: hs[":scheme"],
		Protocol: "HTTP/1.1", Size: -1,
	}
	if c.body != nil {
		hs["x-envoy-auth-partial-body"] = "false"
		if c.partial {
			hs["x-envoy-auth-partial-body"] = "true"
		}
		if c.stringBody {
			hr.Body = string(c.body)
		} else {
			hr.RawBody = c.body
		}
	}
	if c.rawHeaders {
		hr.HeaderMap = &corev3.HeaderMap{}
		for k, v := range hs {
			hr.HeaderMap.Headers = append(hr.HeaderMap.Headers, &corev3.HeaderValue{Key: k, RawValue: []byte(v)})
		}
	} else {
		hr.Headers = hs
	}
	a := &authv3.AttributeContext{
		Source:  &authv3.AttributeContext_Peer{Address: sockAddr("10.0.0.7", 40000), Principal: c.principal},
		Request: &authv3.AttributeContext_Request{Http: hr},
	}
	if c.port != 0 {
		a.Destination = &authv3.AttributeContext_Peer{Address: sockAddr("10.0.0.1", c.port)}
	}
	if c.profile != "" {
		a.ContextExtensions = map[string]string{ProfileExtension: c.profile}
	}
	return &authv3.CheckRequest{Attributes: a}
}

func sockAddr(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}
}

// answer is what Envoy makes of a CheckResponse (ext_authz.cc onComplete).
type answer struct {
	code    codes.Code
	allowed bool
	set     map[string]string // OK: request headers set
	removed []string          // OK: headers_to_remove
	status  int               // denied: HTTP status
	headers map[string]string // denied: reply headers
	body    string            // denied: reply body
	raw     *authv3.CheckResponse
}

func (f *fakeEnvoy) check(c check) answer {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c.mdProfile != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, ProfileMetadataKey, c.mdProfile)
	}
	resp, err := f.client.Check(ctx, c.request())
	if err != nil {
		f.t.Fatalf("Check returned a gRPC error (Envoy would apply failure_mode_allow): %v", err)
	}
	return answerOf(f.t, resp)
}

func answerOf(t *testing.T, resp *authv3.CheckResponse) answer {
	t.Helper()
	a := answer{code: codes.Code(resp.GetStatus().GetCode()), raw: resp}
	if a.code == codes.OK {
		a.allowed = true
		a.set = map[string]string{}
		for _, o := range resp.GetOkResponse().GetHeaders() {
			checkOption(t, o)
			a.set[o.GetHeader().GetKey()] = o.GetHeader().GetValue()
		}
		a.removed = resp.GetOkResponse().GetHeadersToRemove()
		for _, r := range a.removed {
			if _, both := a.set[r]; both {
				t.Errorf("%s is both set and removed: Envoy removes after setting", r)
			}
		}
		return a
	}
	if resp.GetErrorResponse() != nil {
		t.Fatal("error_response: Envoy would apply failure_mode_allow")
	}
	d := resp.GetDeniedResponse()
	if d == nil {
		t.Fatalf("denied without a denied_response: %v", resp)
	}
	a.status, a.body, a.headers = int(d.GetStatus().GetCode()), d.GetBody(), map[string]string{}
	for _, o := range d.GetHeaders() {
		checkOption(t, o)
		a.headers[o.GetHeader().GetKey()] = o.GetHeader().GetValue()
	}
	return a
}

// checkOption: Envoy's ext_authz reads value (not raw_value), and the
// option must replace, not append.
func checkOption(t *testing.T, o *corev3.HeaderValueOption) {
	t.Helper()
	if len(o.GetHeader().GetRawValue()) > 0 {
		t.Errorf("%s sent in raw_value, which ext_authz ignores", o.GetHeader().GetKey())
	}
	if o.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD || o.GetAppend() != nil {
		t.Errorf("%s: append_action %v, append %v", o.GetHeader().GetKey(), o.GetAppendAction(), o.GetAppend())
	}
}

func (a answer) removes(name string) bool {
	for _, r := range a.removed {
		if r == name {
			return true
		}
	}
	return false
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// auditLines returns the audit records whose request id is id.
func (f *fakeEnvoy) auditLines(id string) []string {
	var out []string
	for _, l := range strings.Split(f.audit.String(), "\n") {
		if strings.Contains(l, `"request_id":"`+id+`"`) {
			out = append(out, l)
		}
	}
	return out
}
