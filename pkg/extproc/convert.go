package extproc

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/agentguard/agentguard/pkg/engine"
)

// headersOf converts Envoy's header map; raw_value wins over value.
func headersOf(hm *corev3.HeaderMap) engine.Header {
	hs := hm.GetHeaders()
	h := make(engine.Header, len(hs))
	for _, hv := range hs {
		v := hv.GetValue()
		if raw := hv.GetRawValue(); len(raw) > 0 {
			v = string(raw)
		}
		h.Add(hv.GetKey(), v)
	}
	return h
}

func bodyModeOf(m filterv3.ProcessingMode_BodySendMode) engine.BodyMode {
	switch m {
	case filterv3.ProcessingMode_NONE:
		return engine.BodyNone
	case filterv3.ProcessingMode_BUFFERED:
		return engine.BodyBuffered
	case filterv3.ProcessingMode_STREAMED:
		return engine.BodyStreamed
	case filterv3.ProcessingMode_BUFFERED_PARTIAL:
		return engine.BodyBufferedPartial
	case filterv3.ProcessingMode_FULL_DUPLEX_STREAMED:
		return engine.BodyFullDuplex
	}
	return engine.BodyModeUnchanged
}

func envoyBodyMode(m engine.BodyMode) filterv3.ProcessingMode_BodySendMode {
	switch m {
	case engine.BodyBuffered:
		return filterv3.ProcessingMode_BUFFERED
	case engine.BodyStreamed:
		return filterv3.ProcessingMode_STREAMED
	}
	return filterv3.ProcessingMode_NONE
}

func headerMutation(r *engine.Result) *extprocv3.HeaderMutation {
	if len(r.SetHeaders) == 0 && len(r.RemoveHeaders) == 0 {
		return nil
	}
	return mutationOf(r.SetHeaders, r.RemoveHeaders)
}

func mutationOf(set []engine.HeaderValue, remove []string) *extprocv3.HeaderMutation {
	hm := &extprocv3.HeaderMutation{RemoveHeaders: remove}
	for _, h := range set {
		hm.SetHeaders = append(hm.SetHeaders, &corev3.HeaderValueOption{
			Header:       &corev3.HeaderValue{Key: h.Name, RawValue: []byte(h.Value)},
			AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		})
	}
	return hm
}

func common(r *engine.Result) *extprocv3.CommonResponse {
	c := &extprocv3.CommonResponse{
		HeaderMutation:  headerMutation(r),
		ClearRouteCache: r.ClearRouteCache,
	}
	if r.BodySet {
		if len(r.Body) == 0 {
			c.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}
		} else {
			c.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: r.Body}}
		}
	}
	if c.HeaderMutation == nil && c.BodyMutation == nil && !c.ClearRouteCache {
		return nil // CONTINUE with nothing changed
	}
	return c
}

func immediate(rep *engine.Reply) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(rep.Status)},
			Headers: mutationOf(rep.Headers, nil),
			Body:    rep.Body,
			Details: rep.Details,
		},
	}}
}

func headersResponse(r engine.Result, request bool) *extprocv3.ProcessingResponse {
	if r.Reply != nil {
		return immediate(r.Reply)
	}
	hr := &extprocv3.HeadersResponse{Response: common(&r)}
	resp := &extprocv3.ProcessingResponse{}
	if request {
		resp.Response = &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: hr}
	} else {
		resp.Response = &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: hr}
	}
	// mode_override replaces the whole ProcessingMode for the rest of the
	// stream, so every field is set: headers keep being sent, bodies as
	// asked, trailers skipped.
	switch {
	case request && r.RequestBodyMode != engine.BodyModeUnchanged:
		resp.ModeOverride = &filterv3.ProcessingMode{
			RequestHeaderMode:  filterv3.ProcessingMode_SEND,
			ResponseHeaderMode: filterv3.ProcessingMode_SEND,
			RequestBodyMode:    envoyBodyMode(r.RequestBodyMode),
		}
	case !request && r.ResponseBodyMode != engine.BodyModeUnchanged:
		resp.ModeOverride = &filterv3.ProcessingMode{
			RequestHeaderMode:  filterv3.ProcessingMode_SEND,
			ResponseHeaderMode: filterv3.ProcessingMode_SEND,
			ResponseBodyMode:   envoyBodyMode(r.ResponseBodyMode),
		}
	}
	return resp
}

func bodyResponse(r engine.Result, request bool) *extprocv3.ProcessingResponse {
	if r.Reply != nil {
		return immediate(r.Reply)
	}
	br := &extprocv3.BodyResponse{Response: common(&r)}
	if request {
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: br}}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: br}}
}

func trailersResponse(r engine.Result, request bool) *extprocv3.ProcessingResponse {
	if r.Reply != nil {
		return immediate(r.Reply)
	}
	tr := &extprocv3.TrailersResponse{}
	if request {
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: tr}}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{ResponseTrailers: tr}}
}
