package policy_test

import (
	"testing"

	"github.com/agentguard/agentguard/pkg/policy"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		// Empty pattern and empty string.
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
		{"*", "", true},
		{"**", "", true},
		{"?", "", false},

		// Literals.
		{"get_issue", "get_issue", true},
		{"get_issue", "get_issues", false},
		{"get_issues", "get_issue", false},
		{"get_issue", "Get_issue", false},

		// '*' anywhere.
		{"*", "anything at all", true},
		{"delete_*", "delete_repo", true},
		{"delete_*", "delete_", true},
		{"delete_*", "delete", false},
		{"delete_*", "undelete_repo", false},
		{"*_repo", "delete_repo", true},
		{"*_repo", "delete_repos", false},
		{"*secret*", "secret", true},
		{"*secret*", "get_secret_value", true},
		{"*secret*", "secre", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "a-b-c", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "acb", false},
		{"a*b*c", "abcx", false},
		{"a**b", "ab", true},
		{"*a*a*a*", "aaa", true},
		{"*a*a*a*", "aa", false},
		{"*ab", "aab", true}, // backtracking past a false start

		// '?' is exactly one byte.
		{"?", "a", true},
		{"?", "ab", false},
		{"fs/list?", "fs/list1", true},
		{"fs/list?", "fs/list", false},
		{"fs/list?", "fs/list12", false},
		{"??", "é", true}, // 'é' is two bytes
		{"?", "é", false},
		{"?*", "", false},
		{"?*", "x", true},
		{"*?", "xy", true},

		// '/' is an ordinary byte, unlike path.Match.
		{"fs/*", "fs/read", true},
		{"fs/*", "fs/dir/read", true},
		{"*", "a/b/c", true},
		{"*/read", "fs/dir/read", true},
		{"fs?read", "fs/read", true},
		{"github/*", "semgrep/scan", false},

		// Metacharacters in the string are ordinary bytes.
		{"*", "*0", true},
		{"delete_*", "delete_*x", true},
		{"*secret*", "*secret*x", true},
		{"a?", "a?", true},
		{"a?", "a?b", false},

		// No character classes or escapes: '[' and '\' are literal.
		{"[a]", "[a]", true},
		{"[a]", "a", false},
		{`a\*`, `a\bc`, true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+"~"+tt.s, func(t *testing.T) {
			if got := policy.Glob(tt.pattern, tt.s); got != tt.want {
				t.Errorf("Glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
		})
	}
}

// globRef is a plain dynamic-programming matcher to check Glob against.
func globRef(p, s string) bool {
	// m[j] reports whether p[:i] matches s[:j] for the current i.
	m := make([]bool, len(s)+1)
	m[0] = true
	for i := 0; i < len(p); i++ {
		next := make([]bool, len(s)+1)
		if p[i] == '*' {
			next[0] = m[0]
		}
		for j := 1; j <= len(s); j++ {
			switch p[i] {
			case '*':
				next[j] = m[j] || next[j-1]
			case '?':
				next[j] = m[j-1]
			default:
				next[j] = m[j-1] && p[i] == s[j-1]
			}
		}
		m = next
	}
	return m[len(s)]
}

func FuzzGlob(f *testing.F) {
	f.Add("delete_*", "delete_repo")
	f.Add("*a*b?", "xaxbby")
	f.Add("fs/list?", "fs/list1")
	f.Add("", "")
	f.Add("*secret*", "ＳＥＣＲＥＴ")
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 64 || len(s) > 256 {
			return
		}
		if got, want := policy.Glob(p, s), globRef(p, s); got != want {
			t.Errorf("Glob(%q, %q) = %v, reference says %v", p, s, got, want)
		}
	})
}
