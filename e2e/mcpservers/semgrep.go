package mcpservers

import (
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// SemgrepTools lists the tools [Semgrep] serves, named as Semgrep's MCP
// server names them, sorted by name as tools/list returns them.
var SemgrepTools = []string{
	"get_supported_languages",
	"security_check",
	"semgrep_scan",
	"semgrep_scan_with_custom_rule",
}

// Semgrep returns a go-sdk MCP server posing as Semgrep's MCP server. The
// scans are fake and deterministic: each code file's content is searched for
// a few fixed patterns (eval(, exec(, "password =", md5, http://), each hit a
// finding with its line number. Each call to Semgrep builds a new server.
func Semgrep(opts ...Option) *mcp.Server {
	s := newServer("semgrep", "semgrep-mcp", opts)
	for _, t := range semgrepTools() {
		t.add("semgrep", s)
	}
	return s
}

func semgrepTools() []fakeTool {
	codeFiles := req("code_files", "array", "List of dictionaries with 'filename' and 'content' keys").of(map[string]any{
		"type": "object",
		"properties": map[string]any{
			"filename": map[string]any{"type": "string", "description": "Relative path of the code file"},
			"content":  map[string]any{"type": "string", "description": "Content of the code file"},
		},
		"required": []string{"filename", "content"},
	})
	return []fakeTool{
		{
			name: "semgrep_scan", title: "Semgrep scan", readOnly: true,
			description: "Runs a Semgrep scan on provided code content and returns the findings in JSON format.",
			params:      []param{codeFiles, opt("config", "string", "Semgrep configuration string (e.g. 'auto', 'p/security-audit')")},
			result:      func(a map[string]any) any { return fakeScan(a, "") },
		},
		{
			name: "security_check", title: "Security check", readOnly: true,
			description: "Runs a fast security check on code and returns any issues found.",
			params:      []param{codeFiles},
			result: func(a map[string]any) any {
				r := fakeScan(a, "")
				if len(r.Results) == 0 {
					return map[string]any{"message": "No security issues found in the code!"}
				}
				return map[string]any{"message": fmt.Sprintf("%d security issues found in the code.", len(r.Results)), "results": r.Results}
			},
		},
		{
			name: "semgrep_scan_with_custom_rule", title: "Semgrep scan with custom rule", readOnly: true,
			description: "Runs a Semgrep scan with a custom rule on provided code content.",
			params:      []param{codeFiles, req("rule", "string", "Semgrep YAML rule string")},
			result:      func(a map[string]any) any { return fakeScan(a, "custom.rule") },
		},
		{
			name: "get_supported_languages", title: "Supported languages", readOnly: true,
			description: "Returns a list of supported languages by Semgrep.",
			params:      nil,
			result: func(map[string]any) any {
				return []string{"go", "java", "javascript", "python", "ruby", "rust", "typescript", "yaml"}
			},
		},
	}
}

// semgrepRule is one fixed pattern the fake scanner looks for.
type semgrepRule struct {
	pattern, checkID, message, severity string
}

var semgrepRules = []semgrepRule{
	{"eval(", "python.lang.security.audit.eval-detected.eval-detected", "Detected the use of eval(). eval() can be dangerous if used to evaluate dynamic content.", "WARNING"},
	{"exec(", "python.lang.security.audit.exec-detected.exec-detected", "Detected the use of exec(). exec() can be dangerous if used to evaluate dynamic content.", "WARNING"},
	{"password =", "generic.secrets.security.detected-generic-password.detected-generic-password", "Hardcoded password detected.", "ERROR"},
	{"md5", "go.lang.security.audit.crypto.use_of_weak_crypto.use-of-md5", "Detected MD5 hash algorithm which is considered insecure.", "WARNING"},
	{"http://", "generic.security.audit.insecure-transport.insecure-url", "Insecure URL (http://) detected.", "INFO"},
}

type scanFinding struct {
	CheckID string         `json:"check_id"`
	Path    string         `json:"path"`
	Start   map[string]int `json:"start"`
	End     map[string]int `json:"end"`
	Extra   map[string]any `json:"extra"`
}

type scanResult struct {
	Version string        `json:"version"`
	Results []scanFinding `json:"results"`
	Errors  []any         `json:"errors"`
	Paths   struct {
		Scanned []string `json:"scanned"`
	} `json:"paths"`
}

// fakeScan searches each code file for the fixed patterns. With checkID
// set, every hit is reported under that rule id (a "custom rule" scan).
func fakeScan(a map[string]any, checkID string) scanResult {
	res := scanResult{Version: "1.0.0-fake", Results: []scanFinding{}, Errors: []any{}}
	res.Paths.Scanned = []string{}
	files, _ := a["code_files"].([]any)
	for _, f := range files {
		m, _ := f.(map[string]any)
		name, content := str(m, "filename"), str(m, "content")
		if name == "" {
			name = str(m, "path")
		}
		res.Paths.Scanned = append(res.Paths.Scanned, name)
		for i, line := range strings.Split(content, "\n") {
			for _, r := range semgrepRules {
				col := strings.Index(line, r.pattern)
				if col < 0 {
					continue
				}
				id := r.checkID
				if checkID != "" {
					id = checkID
				}
				res.Results = append(res.Results, scanFinding{
					CheckID: id, Path: name,
					Start: map[string]int{"line": i + 1, "col": col + 1},
					End:   map[string]int{"line": i + 1, "col": col + 1 + len(r.pattern)},
					Extra: map[string]any{"message": r.message, "severity": r.severity, "lines": strings.TrimSpace(line)},
				})
			}
		}
	}
	return res
}
