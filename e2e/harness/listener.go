package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// PeerSANHeader is the test hook standing for the downstream client
// certificate's URI SAN (see the package doc). It is not an Envoy header.
const PeerSANHeader = "x-harness-peer-san"

type listener struct {
	h            *Harness
	name         string
	port         uint32
	bufferLimit  int64
	hcm          *hcmv3.HttpConnectionManager
	replyMappers []localReplyMapper
	routes       *routeTable
	filters      []filterConfig
	ln           net.Listener
	srv          *http.Server
}

// filterConfig is one configured HTTP filter; newFilter makes its
// per-request instance, as Envoy instantiates filters per stream.
type filterConfig interface {
	newFilter(x *exchange) streamFilter
}

// streamFilter is a filter on one request. decode runs in filter order on
// the request; a non-nil response is a local reply that ends the request
// phase. encode runs in reverse order on the response and returns the
// response to pass on.
type streamFilter interface {
	decode(ctx context.Context, x *exchange) *response
	encode(ctx context.Context, x *exchange, r *response) *response
	done()
}

// exchange is one HTTP request through the listener.
type exchange struct {
	l       *listener
	log     *slog.Logger
	req     headerMap
	body    io.Reader // nil: no body
	peerSAN string
	remote  string

	route      *route
	routeValid bool
	// routeCluster is the cluster the route named when it was matched: a
	// cluster_header is read at match time, so a header set later only
	// counts after the route cache is cleared (route_components.proto,
	// RouteAction.cluster_header; ext_proc CommonResponse.clear_route_cache).
	routeCluster string

	// abort is a local reply a filter decided while the body was streaming
	// (after the request phase returned); the router answers with it.
	abort *response
}

// currentRoute is the route Envoy's route cache holds: matched on first
// use, matched again after clearRouteCache (router docs, "Route table";
// ext_proc CommonResponse.clear_route_cache).
func (x *exchange) currentRoute() *route {
	if !x.routeValid {
		x.route = x.l.routes.match(&x.req)
		x.routeValid = true
		if r := x.route; r != nil {
			x.routeCluster = r.cluster
			if r.clusterHeader != "" {
				// "If the header appears multiple times only the first
				// value is used."
				x.routeCluster = x.req.value(r.clusterHeader)
			}
		}
	}
	return x.route
}

func (x *exchange) clearRouteCache() { x.routeValid = false }

// response is what travels back through the encoders.
type response struct {
	status int
	h      headerMap
	body   io.ReadCloser // nil: none
	local  bool
}

// localReply is Envoy's sendLocalReply: a status, text/plain body.
func localReply(status int, body string) *response {
	r := &response{status: status, local: true}
	if body != "" {
		r.h.set("content-type", "text/plain")
		r.body = io.NopCloser(strings.NewReader(body))
	}
	r.h.set("content-length", strconv.Itoa(len(body)))
	return r
}

func (r *response) hasBody() bool {
	if r.body == nil || r.status == http.StatusNoContent || r.status == http.StatusNotModified {
		return false
	}
	return r.h.value("content-length") != "0"
}

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	x := &exchange{l: l, remote: r.RemoteAddr}
	path := r.URL.RequestURI()
	if r.RequestURI != "" && r.RequestURI != "*" {
		path = r.RequestURI
	}
	scheme := "http"
	x.req.add(":method", r.Method)
	x.req.add(":scheme", scheme)
	x.req.add(":authority", r.Host)
	x.req.add(":path", path)
	x.req.fromHTTP(r.Header)
	if r.ContentLength > 0 && !x.req.has("content-length") {
		x.req.set("content-length", strconv.FormatInt(r.ContentLength, 10))
	}
	if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
		x.body = r.Body
	}
	// Test hook, consumed before anything sees it.
	x.peerSAN = x.req.value(PeerSANHeader)
	x.req.del(PeerSANHeader)
	x.log = l.h.log.With("listener", l.name, "method", r.Method, "path", path)

	if resp := l.normalizePath(x); resp != nil {
		l.write(w, x, resp)
		return
	}
	l.mutateRequestHeaders(x)

	filters := make([]streamFilter, 0, len(l.filters))
	for _, fc := range l.filters {
		filters = append(filters, fc.newFilter(x))
	}
	defer func() {
		for _, f := range filters {
			f.done()
		}
	}()
	var resp *response
	for _, f := range filters {
		if resp = f.decode(ctx, x); resp != nil {
			// A local reply from a decoder filter goes to the client.
			// (Envoy would also run it through the encoders of filters
			// placed before this one; the configs here have one filter.)
			l.write(w, x, resp)
			return
		}
	}
	resp = l.h.forward(ctx, x)
	// Every response, upstream or the router's own local reply, passes the
	// encoder filters in reverse order (Envoy HTTP filter docs, "Filter
	// ordering").
	for i := len(filters) - 1; i >= 0; i-- {
		resp = filters[i].encode(ctx, x, resp)
	}
	l.write(w, x, resp)
}

// write sends a response to the client, flushing every chunk as it is read
// so that streamed bodies (SSE) reach the client incrementally.
func (l *listener) write(w http.ResponseWriter, x *exchange, r *response) {
	l.mapLocalReply(r)
	if r.body != nil {
		defer r.body.Close()
	}
	hdr := w.Header()
	for k, vs := range r.h.toHTTP() {
		hdr[k] = vs
	}
	if x.req.value(":method") == http.MethodHead {
		r.body = nil
	}
	w.WriteHeader(r.status)
	x.log.Debug("harness: response", "status", r.status, "local", r.local)
	if r.body == nil {
		return
	}
	fl, _ := w.(http.Flusher)
	if fl != nil {
		// Envoy writes the headers out at once when a body follows (its
		// HTTP/1 codec flushes in encodeHeadersBase when !end_stream): a
		// server stream that sends nothing yet must still see its client
		// get the headers.
		fl.Flush()
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			// Headers are gone already: Envoy resets the stream.
			x.log.Debug("harness: response body aborted", "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}

// normalizePath applies the HttpConnectionManager's path settings before
// any filter, in Envoy's order (http_connection_manager.proto fields
// path_with_escaped_slashes_action, normalize_path, merge_slashes;
// source/common/http/conn_manager_utility.cc, maybeNormalizePath):
// escaped slashes first (REJECT_REQUEST → 400), then RFC 3986
// normalization, then merging of slashes. The query is left alone.
func (l *listener) normalizePath(x *exchange) *response {
	full := x.req.value(":path")
	p, q, hasQ := strings.Cut(full, "?")
	redirect := false
	switch l.hcm.GetPathWithEscapedSlashesAction() {
	case hcmv3.HttpConnectionManager_REJECT_REQUEST,
		hcmv3.HttpConnectionManager_UNESCAPE_AND_REDIRECT,
		hcmv3.HttpConnectionManager_UNESCAPE_AND_FORWARD:
		if u := unescapeSlashes(p); u != p {
			switch l.hcm.GetPathWithEscapedSlashesAction() {
			case hcmv3.HttpConnectionManager_REJECT_REQUEST:
				return localReply(http.StatusBadRequest, "Bad Request")
			case hcmv3.HttpConnectionManager_UNESCAPE_AND_REDIRECT:
				redirect = true
			}
			p = u
		}
	}
	if l.hcm.GetNormalizePath().GetValue() {
		np, ok := canonicalPath(p)
		if !ok {
			return localReply(http.StatusBadRequest, "Bad Request")
		}
		p = np
	}
	if l.hcm.GetMergeSlashes() {
		p = mergeSlashes(p)
	}
	if hasQ {
		p += "?" + q
	}
	if redirect {
		r := localReply(http.StatusTemporaryRedirect, "")
		r.h.set("location", p)
		return r
	}
	x.req.set(":path", p)
	return nil
}

func unescapeSlashes(p string) string {
	r := strings.NewReplacer("%2F", "/", "%2f", "/", "%5C", "\\", "%5c", "\\")
	return r.Replace(p)
}

// canonicalPath is RFC 3986 §6.2.2 normalization as Envoy's normalize_path
// does it: percent-encoded unreserved characters decoded, remaining
// escapes upper-cased, dot segments removed (§5.2.4). A path that is not
// absolute is rejected.
func canonicalPath(p string) (string, bool) {
	if !strings.HasPrefix(p, "/") {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			v, _ := strconv.ParseUint(p[i+1:i+3], 16, 8)
			if ch := byte(v); isUnreserved(ch) {
				b.WriteByte(ch)
			} else {
				b.WriteString("%" + strings.ToUpper(p[i+1:i+3]))
			}
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return removeDotSegments(b.String()), true
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func isUnreserved(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments is RFC 3986 §5.2.4.
func removeDotSegments(in string) string {
	var out []string
	segs := strings.Split(in, "/")[1:]
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

func mergeSlashes(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

// mutateRequestHeaders does what the HttpConnectionManager does to request
// headers before the filters (http_connection_manager.proto;
// conn_manager_utility.cc, mutateRequestHeaders): x-request-id generated
// when absent (generate_request_id, default true), x-forwarded-proto set,
// and x-forwarded-client-cert handled per forward_client_cert_details: the
// default SANITIZE and SANITIZE_SET drop what the client sent; SANITIZE_SET
// with set_current_client_cert_details.uri writes URI=<peer SAN> when there
// is a peer certificate (here: the test hook). Envoy also writes Hash and
// By from real certificates, which the harness does not have.
func (l *listener) mutateRequestHeaders(x *exchange) {
	if l.hcm.GetGenerateRequestId() == nil || l.hcm.GetGenerateRequestId().GetValue() {
		if !x.req.has("x-request-id") {
			var b [16]byte
			_, _ = rand.Read(b[:])
			x.req.set("x-request-id", hex.EncodeToString(b[:]))
		}
	}
	x.req.set("x-forwarded-proto", x.req.value(":scheme"))
	switch l.hcm.GetForwardClientCertDetails() {
	case hcmv3.HttpConnectionManager_SANITIZE:
		x.req.del("x-forwarded-client-cert")
	case hcmv3.HttpConnectionManager_SANITIZE_SET:
		x.req.del("x-forwarded-client-cert")
		if x.peerSAN != "" && l.hcm.GetSetCurrentClientCertDetails().GetUri() {
			x.req.set("x-forwarded-client-cert", "URI="+x.peerSAN)
		}
	case hcmv3.HttpConnectionManager_FORWARD_ONLY, hcmv3.HttpConnectionManager_ALWAYS_FORWARD_ONLY,
		hcmv3.HttpConnectionManager_APPEND_FORWARD:
		// Kept as sent; without mTLS there is nothing to append.
	}
}

// readLimited reads r whole when it fits in limit bytes; over reports that
// it does not (and data holds what was read).
func readLimited(r io.Reader, limit int64) (data []byte, over bool, err error) {
	var b bytes.Buffer
	n, err := io.Copy(&b, io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	return b.Bytes(), n > limit, nil
}
