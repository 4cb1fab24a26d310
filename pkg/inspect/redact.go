package inspect

import (
	"fmt"
	"sort"

	"github.com/tidwall/sjson"
)

// Marker is what replaces a redacted span: it names the rule, never the
// value, so the reader (an agent, a model) knows something was removed.
func Marker(f *Finding) string { return "[REDACTED:" + f.Rule + "]" }

// Mask returns value with the spans of fs (findings in this one value)
// replaced by their markers. Overlapping spans merge under the marker of
// the first; spans out of range are ignored.
func Mask(value string, fs []*Finding) string {
	if len(fs) == 0 {
		return value
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Start < fs[j].Start })
	out := make([]byte, 0, len(value))
	pos := 0
	for i := 0; i < len(fs); {
		f := fs[i]
		start, end := f.Start, f.End
		if start < pos || end > len(value) || start > end {
			i++
			continue
		}
		j := i + 1
		for ; j < len(fs) && fs[j].Start < end; j++ {
			end = max(end, min(fs[j].End, len(value)))
		}
		out = append(out, value[pos:start]...)
		out = append(out, Marker(f)...)
		pos = end
		i = j
	}
	out = append(out, value[pos:]...)
	return string(out)
}

// RedactJSON masks, in the JSON document body, the spans of the findings
// selected by want. texts are the texts the findings were made on: their
// Field is the value's gjson path in body (valid for sjson), so the
// document stays valid JSON whatever the span held. It returns body
// unchanged (and false) when nothing was selected.
func RedactJSON(body []byte, texts []Text, fs []Finding, want func(*Finding) bool) ([]byte, bool, error) {
	byText := map[int][]*Finding{}
	for i := range fs {
		if want(&fs[i]) {
			byText[fs[i].Text] = append(byText[fs[i].Text], &fs[i])
		}
	}
	if len(byText) == 0 {
		return body, false, nil
	}
	idx := make([]int, 0, len(byText))
	for i := range byText {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := body
	for _, i := range idx {
		if i < 0 || i >= len(texts) {
			continue
		}
		t := texts[i]
		if t.Key {
			return nil, false, fmt.Errorf("redact: a finding in a member name of %q cannot be masked", t.Field)
		}
		var err error
		out, err = sjson.SetBytes(out, t.Field, Mask(t.Value, byText[i]))
		if err != nil {
			return nil, false, fmt.Errorf("redact %s: %w", t.Field, err)
		}
	}
	return out, true, nil
}
