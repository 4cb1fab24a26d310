package inspect

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// literal is a test detector that reports every occurrence of its words:
// the Set and the redactors are tested on their own, with findings whose
// spans are known exactly.
type literal struct {
	name  string
	words []string
}

func (l literal) Name() string { return l.name }

func (l literal) Scan(_ context.Context, texts []Text, emit func(Finding)) error {
	for i, t := range texts {
		for _, w := range l.words {
			for off := 0; ; {
				j := strings.Index(t.Value[off:], w)
				if j < 0 {
					break
				}
				emit(Finding{Rule: "word", Severity: High, Text: i, Start: off + j, End: off + j + len(w), Score: 1})
				off += j + len(w)
			}
		}
	}
	return nil
}

var _ Detector = literal{}

func TestSetScanFillsAndSorts(t *testing.T) {
	s := NewSet([]byte("k"), literal{"b", []string{"beta"}}, literal{"a", []string{"alpha"}})
	r := s.Scan(context.Background(), []Text{{Field: "x", Value: "beta alpha"}, {Field: "y", Value: "alpha"}}, nil)
	if len(r.Findings) != 3 {
		t.Fatalf("findings = %+v", r.Findings)
	}
	want := []struct {
		det, field string
		start      int
	}{{"b", "x", 0}, {"a", "x", 5}, {"a", "y", 0}}
	for i, w := range want {
		f := r.Findings[i]
		if f.Detector != w.det || f.Field != w.field || f.Start != w.start || !strings.HasPrefix(f.Hash, "hmac:") {
			t.Errorf("finding %d = %+v, want %+v", i, f, w)
		}
	}
	if r.Findings[1].Hash != r.Findings[2].Hash {
		t.Error("the same value must hash the same")
	}
	other := NewSet([]byte("other key"), literal{"a", []string{"alpha"}}).Scan(context.Background(), []Text{{Value: "alpha"}}, nil)
	if other.Findings[0].Hash == r.Findings[2].Hash {
		t.Error("the hash must depend on the key")
	}
	only := s.Scan(context.Background(), []Text{{Value: "beta alpha"}}, func(d string) bool { return d == "a" })
	if len(only.Findings) != 1 || only.Findings[0].Detector != "a" {
		t.Errorf("only a: %+v", only.Findings)
	}
}

func TestSetScanBounded(t *testing.T) {
	s := NewSet(nil, literal{"x", []string{"a"}})
	r := s.Scan(context.Background(), []Text{{Value: strings.Repeat("a", MaxFindings*2)}}, nil)
	if len(r.Findings) != MaxFindings || !r.Truncated {
		t.Fatalf("got %d findings, truncated=%v", len(r.Findings), r.Truncated)
	}
}

// badSpans reports spans outside its text: the Set drops them.
type badSpans struct{}

func (badSpans) Name() string { return "bad" }
func (badSpans) Scan(_ context.Context, texts []Text, emit func(Finding)) error {
	emit(Finding{Text: 5})
	emit(Finding{Text: 0, Start: 2, End: 99})
	emit(Finding{Text: 0, Start: 3, End: 1})
	return nil
}

func TestSetDropsOutOfRangeFindings(t *testing.T) {
	r := NewSet(nil, badSpans{}).Scan(context.Background(), []Text{{Value: "abc"}}, nil)
	if len(r.Findings) != 0 {
		t.Fatalf("kept %+v", r.Findings)
	}
}

func TestMask(t *testing.T) {
	for _, c := range []struct {
		value string
		spans [][2]int
		want  string
	}{
		{"my key is SECRET ok", [][2]int{{10, 16}}, "my key is [REDACTED:r] ok"},
		{"AAA BBB", [][2]int{{4, 7}, {0, 3}}, "[REDACTED:r] [REDACTED:r]"},
		{"overlap", [][2]int{{0, 4}, {2, 7}}, "[REDACTED:r]"},
		{"out of range", [][2]int{{5, 100}}, "out of range"},
		{"none", nil, "none"},
	} {
		var fs []*Finding
		for _, sp := range c.spans {
			fs = append(fs, &Finding{Rule: "r", Start: sp[0], End: sp[1]})
		}
		if got := Mask(c.value, fs); got != c.want {
			t.Errorf("Mask(%q, %v) = %q, want %q", c.value, c.spans, got, c.want)
		}
	}
}

func TestRedactJSONKeepsDocumentValid(t *testing.T) {
	body := []byte(`{"messages":[{"role":"user","content":"key \"SECRET\" here"},{"role":"user","content":"fine"}]}`)
	texts := []Text{{Field: "messages.0.content", Value: `key "SECRET" here`}, {Field: "messages.1.content", Value: "fine"}}
	r := NewSet(nil, literal{"secrets", []string{`"SECRET"`}}).Scan(context.Background(), texts, nil)
	out, changed, err := RedactJSON(body, texts, r.Findings, func(*Finding) bool { return true })
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	var doc struct{ Messages []struct{ Content string } }
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("invalid JSON %s: %v", out, err)
	}
	if doc.Messages[0].Content != "key [REDACTED:word] here" || doc.Messages[1].Content != "fine" {
		t.Errorf("redacted = %s", out)
	}
	same, changed, _ := RedactJSON(body, texts, r.Findings, func(*Finding) bool { return false })
	if changed || string(same) != string(body) {
		t.Error("nothing selected must leave the body alone")
	}
}
