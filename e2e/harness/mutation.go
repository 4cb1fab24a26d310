package harness

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocsvc "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// checker applies HeaderMutationRules. Semantics from
// envoy/config/common/mutation_rules/v3/mutation_rules.proto: by default any
// header may be added, changed or removed except "host", ":authority",
// ":scheme", ":method" (allow_all_routing) and headers starting with the
// bootstrap header_prefix, "x-envoy" by default (allow_envoy); a system
// header (":"-prefixed) or "host" may never be removed; disallowed mutations
// are ignored unless disallow_is_error, which fails the request with 500.
type checker struct {
	allowRouting, allowEnvoy, disallowSystem, disallowAll, isError bool
	allowRe, disallowRe                                            *regexp.Regexp
	envoyPrefix                                                    string
}

type verdict int

const (
	allow verdict = iota
	ignore
	fail
)

func newChecker(r *mutationrulesv3.HeaderMutationRules, envoyPrefix string) (*checker, error) {
	c := &checker{envoyPrefix: envoyPrefix}
	if r == nil {
		return c, nil
	}
	c.allowRouting = r.GetAllowAllRouting().GetValue()
	c.allowEnvoy = r.GetAllowEnvoy().GetValue()
	c.disallowSystem = r.GetDisallowSystem().GetValue()
	c.disallowAll = r.GetDisallowAll().GetValue()
	c.isError = r.GetDisallowIsError().GetValue()
	var err error
	if re := r.GetAllowExpression().GetRegex(); re != "" {
		if c.allowRe, err = regexp.Compile("^(?:" + re + ")$"); err != nil {
			return nil, fmt.Errorf("mutation_rules.allow_expression: %w", err)
		}
	}
	if re := r.GetDisallowExpression().GetRegex(); re != "" {
		if c.disallowRe, err = regexp.Compile("^(?:" + re + ")$"); err != nil {
			return nil, fmt.Errorf("mutation_rules.disallow_expression: %w", err)
		}
	}
	return c, nil
}

func (c *checker) reject() verdict {
	if c.isError {
		return fail
	}
	return ignore
}

func (c *checker) check(remove bool, name string) verdict {
	name = strings.ToLower(name)
	system := strings.HasPrefix(name, ":")
	if remove && (system || name == "host") {
		return c.reject()
	}
	// Order of precedence as documented on each field.
	if c.disallowRe != nil && c.disallowRe.MatchString(name) {
		return c.reject()
	}
	if c.allowRe != nil && c.allowRe.MatchString(name) {
		return allow
	}
	if c.disallowAll || (system && c.disallowSystem) {
		return c.reject()
	}
	switch name {
	case "host", ":authority", ":scheme", ":method":
		if !c.allowRouting {
			return c.reject()
		}
	}
	if strings.HasPrefix(name, c.envoyPrefix) && !c.allowEnvoy {
		return c.reject()
	}
	return allow
}

var errMutation = errors.New("header mutation refused by mutation_rules")

// headerValue reads a HeaderValue: current Envoy reads raw_value; value is
// accepted when raw_value is empty, and setting both is an error
// (source/extensions/filters/http/ext_proc/mutation_utils.cc,
// applyHeaderMutations).
func headerValue(h *corev3.HeaderValue) (string, error) {
	if h.GetValue() != "" && len(h.GetRawValue()) > 0 {
		return "", errors.New("only one of value or raw_value in the HeaderValue message should be set")
	}
	if len(h.GetRawValue()) > 0 {
		return string(h.GetRawValue()), nil
	}
	return h.GetValue(), nil
}

// applyExtProcMutation applies an ext_proc HeaderMutation to m: removals
// first, then set_headers, each checked against the rules
// (mutation_utils.cc, applyHeaderMutations). append_action:
// APPEND_IF_EXISTS_OR_ADD appends, ADD_IF_ABSENT adds only when missing,
// OVERWRITE_IF_EXISTS_OR_ADD replaces or adds, OVERWRITE_IF_EXISTS replaces
// only when present (envoy/config/core/v3/base.proto, HeaderValueOption).
// Without append_action, the deprecated "append" applies and defaults to
// false for ext_proc (mutation_utils.cc). protectCL refuses content-length
// when the body mode removes it (processor_state.h, shouldRemoveContentLength).
// It returns whether anything changed.
func applyExtProcMutation(m *headerMap, mut *extprocsvc.HeaderMutation, c *checker, protectCL bool) (bool, error) {
	changed := false
	for _, k := range mut.GetRemoveHeaders() {
		switch c.check(true, k) {
		case fail:
			return changed, fmt.Errorf("%w: remove %s", errMutation, k)
		case allow:
			if m.has(k) {
				m.del(k)
				changed = true
			}
		}
	}
	for _, sh := range mut.GetSetHeaders() {
		if sh.GetHeader() == nil {
			continue
		}
		ch, err := applyOption(m, sh, c, false, protectCL)
		if err != nil {
			return changed, err
		}
		changed = changed || ch
	}
	return changed, nil
}

// applyOption applies one HeaderValueOption. appendDefault is what a
// missing append means (false for ext_proc and for ext_authz, as their
// protos say; true for the router).
func applyOption(m *headerMap, sh *corev3.HeaderValueOption, c *checker, appendDefault, protectCL bool) (bool, error) {
	k := strings.ToLower(sh.GetHeader().GetKey())
	v, err := headerValue(sh.GetHeader())
	if err != nil {
		return false, err
	}
	if protectCL && k == "content-length" {
		return false, nil
	}
	exists := m.has(k)
	var appendMode bool
	switch {
	case sh.GetAppend() != nil:
		appendMode = sh.GetAppend().GetValue()
	case sh.GetAppendAction() == corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD:
		// APPEND_IF_EXISTS_OR_ADD is the enum's zero value: proto3 cannot
		// tell it from "unset", and Envoy only switches on a non-zero
		// append_action, otherwise using "append" with its default
		// (mutation_utils.cc, applyHeaderMutations). So it overwrites
		// unless append is true; send "append: true" to append.
		appendMode = appendDefault
	case sh.GetAppendAction() == corev3.HeaderValueOption_ADD_IF_ABSENT:
		if exists {
			return false, nil
		}
		appendMode = true
	case sh.GetAppendAction() == corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
		appendMode = false
	case sh.GetAppendAction() == corev3.HeaderValueOption_OVERWRITE_IF_EXISTS:
		if !exists {
			return false, nil
		}
		appendMode = false
	}
	if c != nil {
		switch c.check(false, k) {
		case fail:
			return false, fmt.Errorf("%w: set %s", errMutation, k)
		case ignore:
			return false, nil
		}
	}
	if appendMode {
		m.add(k, v)
	} else {
		m.set(k, v)
	}
	return true, nil
}
