package extproc

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/agentguard/agentguard/pkg/engine"
	"github.com/agentguard/agentguard/pkg/telemetry"
	"github.com/agentguard/agentguard/policies"
)

// fakeEnvoy drives the ext_proc server the way Envoy's ext_proc filter does:
// one gRPC stream per HTTP request, the profile in the initial metadata, and
// one answer awaited per message (external_processor.proto). It is a test
// double of Envoy's side of the conversation, nothing more.
type fakeEnvoy struct {
	t       *testing.T
	client  extprocv3.ExternalProcessorClient
	audit   *syncBuffer
	logs    *syncBuffer // every log line, at debug level
	metrics *telemetry.Metrics
	engine  *engine.Engine
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

func newFakeEnvoy(t *testing.T, config []byte) *fakeEnvoy {
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
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(MaxMessageBytes))
	extprocv3.RegisterExternalProcessorServer(gs, New(eng, log))
	go gs.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); gs.Stop() })
	return &fakeEnvoy{t: t, client: extprocv3.NewExternalProcessorClient(conn), audit: audit, logs: logs, metrics: metrics, engine: eng}
}

// conv is one ext_proc stream.
type conv struct {
	t      *testing.T
	stream extprocv3.ExternalProcessor_ProcessClient
	cancel context.CancelFunc
	first  bool
	// requestBodyMode is announced in protocol_config of the first message,
	// unless noProtocolConfig (Envoys before protocol_config existed).
	requestBodyMode  filterv3.ProcessingMode_BodySendMode
	noProtocolConfig bool
}

func (f *fakeEnvoy) open(profile string) *conv {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if profile != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, ProfileMetadataKey, profile)
	}
	s, err := f.client.Process(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	c := &conv{t: f.t, stream: s, cancel: cancel, first: true, requestBodyMode: filterv3.ProcessingMode_BUFFERED}
	f.t.Cleanup(cancel)
	return c
}

// send sends one message and waits for its answer.
func (c *conv) send(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	c.t.Helper()
	if c.first && !c.noProtocolConfig {
		req.ProtocolConfig = &extprocv3.ProtocolConfiguration{
			RequestBodyMode:  c.requestBodyMode,
			ResponseBodyMode: filterv3.ProcessingMode_NONE,
		}
	}
	c.first = false
	if err := c.stream.Send(req); err != nil {
		c.t.Fatalf("send: %v", err)
	}
	resp, err := c.stream.Recv()
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return resp
}

// close ends the stream as Envoy does after the last answer.
func (c *conv) close() {
	_ = c.stream.CloseSend()
	_, _ = c.stream.Recv() // EOF once the server returns
}

func headerMap(kv map[string]string) *corev3.HeaderMap {
	hm := &corev3.HeaderMap{}
	for k, v := range kv {
		// Current Envoy sends raw_value; value is exercised separately.
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: k, RawValue: []byte(v)})
	}
	return hm
}

func (c *conv) requestHeaders(kv map[string]string, end bool) *extprocv3.ProcessingResponse {
	return c.send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: headerMap(kv), EndOfStream: end}}})
}

func (c *conv) requestBody(b []byte, end bool) *extprocv3.ProcessingResponse {
	return c.send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: b, EndOfStream: end}}})
}

func (c *conv) responseHeaders(kv map[string]string, end bool) *extprocv3.ProcessingResponse {
	return c.send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
		ResponseHeaders: &extprocv3.HttpHeaders{Headers: headerMap(kv), EndOfStream: end}}})
}

func (c *conv) responseBody(b []byte, end bool) *extprocv3.ProcessingResponse {
	return c.send(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
		ResponseBody: &extprocv3.HttpBody{Body: b, EndOfStream: end}}})
}

// mcpHeaders are a POST to the MCP listener.
func mcpHeaders(extra map[string]string) map[string]string {
	h := map[string]string{
		":method": "POST", ":path": "/mcp", ":authority": "mcp.local", ":scheme": "http",
		"content-type": "application/json", "accept": "application/json, text/event-stream",
		"x-request-id": "req-1",
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// setHeaders returns the header mutations of a headers or body answer.
func setHeaders(r *extprocv3.ProcessingResponse) map[string]string {
	var cr *extprocv3.CommonResponse
	switch v := r.Response.(type) {
	case *extprocv3.ProcessingResponse_RequestHeaders:
		cr = v.RequestHeaders.GetResponse()
	case *extprocv3.ProcessingResponse_ResponseHeaders:
		cr = v.ResponseHeaders.GetResponse()
	case *extprocv3.ProcessingResponse_RequestBody:
		cr = v.RequestBody.GetResponse()
	case *extprocv3.ProcessingResponse_ResponseBody:
		cr = v.ResponseBody.GetResponse()
	}
	out := map[string]string{}
	for _, h := range cr.GetHeaderMutation().GetSetHeaders() {
		out[h.GetHeader().GetKey()] = string(h.GetHeader().GetRawValue())
	}
	for _, h := range cr.GetHeaderMutation().GetRemoveHeaders() {
		out[h] = "<removed>"
	}
	return out
}

func commonOf(r *extprocv3.ProcessingResponse) *extprocv3.CommonResponse {
	switch v := r.Response.(type) {
	case *extprocv3.ProcessingResponse_RequestHeaders:
		return v.RequestHeaders.GetResponse()
	case *extprocv3.ProcessingResponse_ResponseHeaders:
		return v.ResponseHeaders.GetResponse()
	case *extprocv3.ProcessingResponse_RequestBody:
		return v.RequestBody.GetResponse()
	case *extprocv3.ProcessingResponse_ResponseBody:
		return v.ResponseBody.GetResponse()
	}
	return nil
}

// bodyOut applies an answer's body mutation to the chunk Envoy sent, as
// Envoy does: a new body replaces it, clear_body empties it.
func bodyOut(sent []byte, r *extprocv3.ProcessingResponse) []byte {
	bm := commonOf(r).GetBodyMutation()
	switch m := bm.GetMutation().(type) {
	case *extprocv3.BodyMutation_Body:
		return m.Body
	case *extprocv3.BodyMutation_ClearBody:
		if m.ClearBody {
			return nil
		}
	}
	return sent
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
