// Package extauthz is the Envoy ext_authz adapter: it serves
// envoy.service.auth.v3.Authorization/Check, turning each CheckRequest into
// one engine.Exchange (Exchange.Authorize, then Finish) and its Result into
// a CheckResponse. It holds no policy of its own; profile selection,
// identity, parsing and decisions are the engine's, as for ext_proc.
//
// What a Check is read as:
//
//   - profile: context_extensions["profile"] (ExtAuthzPerRoute
//     check_settings), else the gRPC metadata x-agentguard-profile (Envoy's
//     grpc_service.initial_metadata), else the engine's matchers over
//     :authority, :path and attributes.destination's port.
//   - identity: the profile's identity sources over the request headers
//     (x-forwarded-client-cert, written by a waypoint whose Gateway has
//     ambient.istio.io/xfcc-include-client-identity: "true") and
//     attributes.source.principal, given to the engine as the peer
//     certificate's URI SAN when it is a SPIFFE ID.
//   - headers: attributes.request.http.headers, or header_map (Envoy's
//     encode_raw_headers), plus :method, :path, :authority and :scheme from
//     the http attributes.
//   - body: raw_body (with_request_body.pack_as_bytes: true, which the
//     Envoy configs must set: a non-UTF-8 body in the string field fails to
//     decode, and Envoy's failure_mode_allow would then decide), else body.
//     x-envoy-auth-partial-body, which Envoy sets whenever it sent a body,
//     tells a cut body (true) from a whole one; a request with
//     content-length or transfer-encoding but no such header had its body
//     withheld (no with_request_body).
//
// Answers: an allow is an OkHttpResponse whose headers overwrite
// (OVERWRITE_IF_EXISTS_OR_ADD, in the value field, the one Envoy's ext_authz
// reads) and whose headers_to_remove drop the client's credentials; a
// denial is a DeniedHttpResponse with the engine's status, headers and
// body, in the client's protocol. Every decision, a failure included, is
// a CheckResponse, never a gRPC error: Envoy turns a gRPC error into an
// allow when failure_mode_allow is set, so the failure mode stays the
// profile's. Only a Check without HTTP attributes (not from Envoy's HTTP
// filter) is refused with InvalidArgument.
//
// What ext_authz cannot do, and agentguard therefore does not do under it:
// anything after the decision. There is no response phase, so tools/list
// results are not filtered, MCP results are not redacted, LLM token usage
// and cost are not counted (the record says usage_missing, and
// agentguard_usage_missing_total counts it; response rules never run), and
// a provider's 401/403 body — which may quote part of the injected key —
// reaches the client unreplaced. Each exchange is finished right after its
// decision: one audit record and the metrics, once, with no upstream
// status. A
// request whose decision would rewrite its body cannot be forwarded
// (ext_authz carries no body) and is denied with a 500; the one rewrite
// the engine asks for today, adding stream_options.include_usage to an
// OpenAI stream, exists only for response-phase accounting and is dropped.
// The route cache is cleared by Envoy's own clear_route_cache setting,
// which must be true for MCP routing on x-agentguard-cluster.
package extauthz
