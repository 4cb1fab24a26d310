package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// localReplyMapper is one LocalReplyConfig mapper
// (http_connection_manager.proto ResponseMapper): when its filter matches a
// local reply, its status and body_format_override replace the reply's.
// Envoy applies mappers to every local reply, ext_proc's ImmediateResponse
// and ext_authz denials included (they are sent with sendLocalReply), the
// first matching mapper only (docs: "local reply modification").
type localReplyMapper struct {
	op          accesslogv3.ComparisonFilter_Op
	value       uint32
	status      int    // 0: keep
	body        []byte // nil: keep
	contentType string
}

// newLocalReplyMappers accepts only what the harness applies faithfully: a
// status_code_filter, and a body format without command operators.
func newLocalReplyMappers(c *hcmv3.LocalReplyConfig) ([]localReplyMapper, error) {
	if c == nil {
		return nil, nil
	}
	if c.GetBodyFormat() != nil {
		return nil, errors.New("local_reply_config.body_format is not implemented")
	}
	var out []localReplyMapper
	for i, m := range c.GetMappers() {
		sc := m.GetFilter().GetStatusCodeFilter()
		if sc == nil {
			return nil, fmt.Errorf("local_reply_config.mappers[%d]: only status_code_filter is implemented", i)
		}
		v, err := strconv.ParseUint(fmt.Sprint(sc.GetComparison().GetValue().GetDefaultValue()), 10, 32)
		if err != nil {
			return nil, err
		}
		lm := localReplyMapper{op: sc.GetComparison().GetOp(), value: uint32(v), status: int(m.GetStatusCode().GetValue())}
		if bf := m.GetBodyFormatOverride(); bf != nil {
			switch {
			case bf.GetJsonFormat() != nil:
				b, err := json.Marshal(bf.GetJsonFormat().AsMap())
				if err != nil {
					return nil, err
				}
				lm.body, lm.contentType = b, "application/json"
			case bf.GetTextFormat() != "":
				lm.body, lm.contentType = []byte(bf.GetTextFormat()), "text/plain"
			default:
				return nil, fmt.Errorf("local_reply_config.mappers[%d]: only json_format and text_format are implemented", i)
			}
			if strings.Contains(string(lm.body), "%") {
				return nil, fmt.Errorf("local_reply_config.mappers[%d]: format command operators are not implemented", i)
			}
			if ct := bf.GetContentType(); ct != "" {
				lm.contentType = ct
			}
		}
		out = append(out, lm)
	}
	return out, nil
}

func (m *localReplyMapper) matches(status int) bool {
	s := uint32(status)
	switch m.op {
	case accesslogv3.ComparisonFilter_EQ:
		return s == m.value
	case accesslogv3.ComparisonFilter_GE:
		return s >= m.value
	case accesslogv3.ComparisonFilter_LE:
		return s <= m.value
	case accesslogv3.ComparisonFilter_NE:
		return s != m.value
	}
	return false
}

// mapLocalReply applies the first matching mapper to a local reply.
func (l *listener) mapLocalReply(r *response) {
	if r == nil || !r.local {
		return
	}
	for i := range l.replyMappers {
		m := &l.replyMappers[i]
		if !m.matches(r.status) {
			continue
		}
		if m.status != 0 {
			r.status = m.status
		}
		if m.body != nil {
			if r.body != nil {
				r.body.Close()
			}
			r.body = io.NopCloser(strings.NewReader(string(m.body)))
			r.h.set("content-type", m.contentType)
			r.h.set("content-length", strconv.Itoa(len(m.body)))
		}
		return
	}
}
