// Package harness is a test double of Envoy — it is not Envoy. It reads an
// Envoy v3 bootstrap (as decoded by e2e/envoyconfig) and applies the same
// config with Envoy's documented semantics, so the e2e suite can run where
// no Envoy binary exists: it serves HTTP/1.1 and h2c on the bootstrap's
// listeners, matches their routes, and drives the ext_proc and ext_authz
// gRPC services exactly as Envoy's filters do, then forwards to the
// clusters' endpoints.
//
// Every behaviour carries a comment naming the Envoy document or source file
// it follows. Proto references are to the Envoy API protos as vendored by
// go-control-plane (the generated Go carries the proto comments verbatim).
// What is not implemented is refused at Start where it would change the
// outcome (an unsupported route matcher, BUFFERED_PARTIAL bodies, ...), so
// a config the harness accepts behaves as documented.
//
// Test hook (not an Envoy feature): a request header x-harness-peer-san
// stands for the URI SAN of a downstream client certificate. The harness
// removes it before any filter runs and reports its value as the
// connection.uri_san_peer_certificate ext_proc attribute, as ext_authz's
// attributes.source.principal, and (with forward_client_cert_details
// SANITIZE_SET and set_current_client_cert_details.uri) in
// x-forwarded-client-cert. The listeners are plaintext; no TLS is terminated.
package harness
