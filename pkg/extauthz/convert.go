package extauthz

import (
	"strconv"
	"strings"
	"unicode/utf8"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/agentguard/agentguard/pkg/engine"
)

// partialBodyHeader is set by Envoy, and only by Envoy (it drops a client's),
// whenever it sends the body: "true" when cut at max_request_bytes.
const partialBodyHeader = "x-envoy-auth-partial-body"

// requestOf reads the request from Envoy's http attributes: its headers,
// with the pseudo-headers the engine reads, its body, and how much of the
// body Envoy sent.
func requestOf(hr *authv3.AttributeContext_HttpRequest) (engine.Header, []byte, engine.AuthzBody) {
	var h engine.Header
	if hm := hr.GetHeaderMap().GetHeaders(); len(hm) > 0 {
		// encode_raw_headers: repeats are separate entries, values in
		// raw_value.
		h = make(engine.Header, len(hm)+4)
		for _, hv := range hm {
			v := hv.GetValue()
			if raw := hv.GetRawValue(); len(raw) > 0 {
				v = string(raw)
			}
			h.Add(hv.GetKey(), v)
		}
	} else {
		h = make(engine.Header, len(hr.GetHeaders())+4)
		for k, v := range hr.GetHeaders() {
			h.Add(k, v)
		}
	}
	for _, p := range [...]struct{ name, value string }{
		{":method", hr.GetMethod()}, {":path", hr.GetPath()}, {":authority", hr.GetHost()}, {":scheme", hr.GetScheme()},
	} {
		if p.value != "" {
			h[p.name] = p.value
		}
	}
	partial, sent := h.Lookup(partialBodyHeader)
	delete(h, partialBodyHeader) // Envoy's note to agentguard, not the client's header
	body := hr.GetRawBody()
	if len(body) == 0 && hr.GetBody() != "" {
		body = []byte(hr.GetBody())
	}
	switch {
	case sent && strings.EqualFold(partial, "true"):
		return h, body, engine.AuthzBodyPartial
	case sent || len(body) > 0:
		if body == nil {
			body = []byte{}
		}
		return h, body, engine.AuthzBodyWhole
	case declaresBody(h):
		return h, nil, engine.AuthzBodyNotSent
	}
	return h, nil, engine.AuthzBodyNone
}

// declaresBody reports whether the headers announce a body. An HTTP/2
// request may carry one without either header; the engine then decides as
// for no body, which denies every request whose profile needs one.
func declaresBody(h engine.Header) bool {
	if _, ok := h.Lookup("transfer-encoding"); ok {
		return true
	}
	n, err := strconv.ParseInt(h.Get("content-length"), 10, 64)
	return err == nil && n > 0
}

// responseOf turns the engine's Result into Envoy's answer.
func (s *Server) responseOf(profile string, r engine.Result) *authv3.CheckResponse {
	if r.Reply != nil {
		return denied(r.Reply)
	}
	ok := &authv3.OkHttpResponse{HeadersToRemove: r.RemoveHeaders}
	for _, hv := range r.SetHeaders {
		if !utf8.ValidString(hv.Value) {
			// A proto string must be UTF-8 or the answer fails to encode,
			// which Envoy would treat as an error; replacing bytes would
			// corrupt the value (a credential). Name only: never the value.
			s.log.Error("header value is not UTF-8 and cannot be sent through ext_authz", "profile", profile, "header", hv.Name)
			return internalDenial()
		}
		ok.Headers = append(ok.Headers, option(hv))
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok},
	}
}

// option is a header that replaces any of its name. Envoy's ext_authz reads
// the value field, not raw_value.
func option(hv engine.HeaderValue) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: hv.Name, Value: hv.Value},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// denied is a DeniedHttpResponse: Envoy sends its status, headers and body
// to the client whatever failure_mode_allow says. The gRPC code only tells
// Envoy "not OK" (and shows in its traces): UNAUTHENTICATED where identity
// or a signature failed, UNAVAILABLE where agentguard failed closed,
// PERMISSION_DENIED otherwise.
func denied(rep *engine.Reply) *authv3.CheckResponse {
	d := &authv3.DeniedHttpResponse{
		Status: &typev3.HttpStatus{Code: typev3.StatusCode(rep.Status)},
		Body:   strings.ToValidUTF8(string(rep.Body), "\uFFFD"),
	}
	for _, hv := range rep.Headers {
		hv.Value = strings.ToValidUTF8(hv.Value, "\uFFFD")
		d.Headers = append(d.Headers, option(hv))
	}
	code := codes.PermissionDenied
	switch rep.Details {
	case "agentguard_unauthenticated":
		code = codes.Unauthenticated
	case "agentguard_internal_error":
		code = codes.Unavailable
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(code), Message: rep.Details},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: d},
	}
}

// internalDenial answers when agentguard cannot render a reply in the
// client's protocol (a panic): a 500 in the plain error shape.
func internalDenial() *authv3.CheckResponse {
	return denied(&engine.Reply{
		Status:  500,
		Headers: []engine.HeaderValue{{Name: "content-type", Value: "application/json"}},
		Body:    []byte(`{"error":{"code":"unavailable","message":"agentguard internal error"}}`),
		Details: "agentguard_internal_error",
	})
}
