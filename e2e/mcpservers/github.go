package mcpservers

import (
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// GitHubTools lists the tools [GitHub] serves, sorted by name as tools/list
// returns them.
//
// The names and input schemas follow github/github-mcp-server (owner, repo,
// pullNumber, issue_number, perPage, ...), except list_repositories, which
// that server does not have (it offers search_repositories) but which
// agentguard's default policy names. delete_repository and delete_file are
// the destructive tools a policy must deny; list_secret_scanning_alerts
// matches the "*secret*" deny pattern.
var GitHubTools = []string{
	"add_issue_comment",
	"create_issue",
	"create_pull_request",
	"create_pull_request_review",
	"delete_file",
	"delete_repository",
	"get_file_contents",
	"get_issue",
	"get_pull_request",
	"get_pull_request_files",
	"list_issues",
	"list_pull_requests",
	"list_repositories",
	"list_secret_scanning_alerts",
}

// FakeAWSKeyID is the access key id that get_file_contents returns inside
// the file ".env" (AWS's documented example key, not a credential), so that
// result redaction can be tested on a real response.
const FakeAWSKeyID = "AKIAIOSFODNN7EXAMPLE"

// GitHub returns a go-sdk MCP server posing as GitHub's MCP server. Every
// tool answers deterministically: a first line from [CallLine] naming the
// call and its arguments, then a fake GitHub-shaped JSON payload. It changes
// nothing anywhere. Each call to GitHub builds a new server.
func GitHub(opts ...Option) *mcp.Server {
	s := newServer("github", "github-mcp-server", opts)
	for _, t := range githubTools() {
		t.add("github", s)
	}
	return s
}

func githubTools() []fakeTool {
	owner := req("owner", "string", "Repository owner")
	repo := req("repo", "string", "Repository name")
	pullNumber := req("pullNumber", "number", "Pull request number")
	issueNumber := req("issue_number", "number", "The number of the issue")
	page := opt("page", "number", "Page number for pagination (min 1)")
	perPage := opt("perPage", "number", "Results per page for pagination (min 1, max 100)")
	stringItems := map[string]any{"type": "string"}

	return []fakeTool{
		{
			name: "get_pull_request", title: "Get pull request details", readOnly: true,
			description: "Get details of a specific pull request in a GitHub repository.",
			params:      []param{owner, repo, pullNumber},
			result:      fakePullRequest,
		},
		{
			name: "get_pull_request_files", title: "Get pull request files", readOnly: true,
			description: "Get the files changed in a specific pull request.",
			params:      []param{owner, repo, pullNumber, page, perPage},
			result: func(a map[string]any) any {
				return []map[string]any{
					{"filename": "pkg/server/handler.go", "status": "modified", "additions": 12, "deletions": 3, "changes": 15,
						"sha":   fakeSHA(str(a, "owner"), str(a, "repo"), num(a, "pullNumber", 0), "handler.go"),
						"patch": "@@ -10,3 +10,12 @@ func handle(w http.ResponseWriter, r *http.Request) {\n+\tif r.Method != http.MethodPost {\n+\t\treturn\n+\t}"},
					{"filename": "pkg/server/handler_test.go", "status": "added", "additions": 40, "deletions": 0, "changes": 40,
						"sha": fakeSHA(str(a, "owner"), str(a, "repo"), num(a, "pullNumber", 0), "handler_test.go")},
				}
			},
		},
		{
			name: "list_pull_requests", title: "List pull requests", readOnly: true,
			description: "List pull requests in a GitHub repository.",
			params: []param{owner, repo,
				opt("state", "string", "Filter by state").oneOf("open", "closed", "all"),
				opt("head", "string", "Filter by head user/org and branch"),
				opt("base", "string", "Filter by base branch"),
				opt("sort", "string", "Sort by").oneOf("created", "updated", "popularity", "long-running"),
				opt("direction", "string", "Sort direction").oneOf("asc", "desc"),
				page, perPage},
			result: func(a map[string]any) any {
				return []any{fakePullRequest(map[string]any{"owner": a["owner"], "repo": a["repo"], "pullNumber": "42"})}
			},
		},
		{
			name: "create_pull_request", title: "Open new pull request",
			description: "Create a new pull request in a GitHub repository.",
			params: []param{owner, repo,
				req("title", "string", "PR title"),
				req("head", "string", "Branch containing changes"),
				req("base", "string", "Branch to merge into"),
				opt("body", "string", "PR description"),
				opt("draft", "boolean", "Create as draft PR"),
				opt("maintainer_can_modify", "boolean", "Allow maintainer edits")},
			result: func(a map[string]any) any {
				return map[string]any{"number": 43, "state": "open", "title": str(a, "title"),
					"head": map[string]any{"ref": str(a, "head")}, "base": map[string]any{"ref": str(a, "base")},
					"html_url": fmt.Sprintf("https://github.com/%s/%s/pull/43", str(a, "owner"), str(a, "repo"))}
			},
		},
		{
			name: "create_pull_request_review", title: "Create Pull Request Review",
			description: "Create a review on a pull request. If event is provided, the review is submitted immediately; otherwise a pending review is created.",
			params: []param{owner, repo, pullNumber,
				opt("body", "string", "The review body text (optional)"),
				opt("event", "string", "The review action to perform. If omitted, creates a pending review.").oneOf("APPROVE", "REQUEST_CHANGES", "COMMENT"),
				opt("commitID", "string", "The SHA of the commit to review (optional, defaults to latest)")},
			result: func(a map[string]any) any {
				state := "PENDING"
				switch str(a, "event") {
				case "APPROVE":
					state = "APPROVED"
				case "REQUEST_CHANGES":
					state = "CHANGES_REQUESTED"
				case "COMMENT":
					state = "COMMENTED"
				}
				return map[string]any{"message": fmt.Sprintf("review %s on %s/%s#%d", state, str(a, "owner"), str(a, "repo"), num(a, "pullNumber", 0)),
					"id": 1000 + num(a, "pullNumber", 0), "state": state}
			},
		},
		{
			name: "get_file_contents", title: "Get file or directory contents", readOnly: true,
			description: "Get the contents of a file or directory from a GitHub repository.",
			params: []param{owner, repo,
				opt("path", "string", "Path to file/directory"),
				opt("ref", "string", "Accepts optional git refs such as refs/tags/{tag}, refs/heads/{branch} or refs/pull/{pr_number}/head"),
				opt("sha", "string", "Accepts optional commit SHA. If specified, it will be used instead of ref")},
			result: fakeFileContents,
		},
		{
			name: "list_repositories", title: "List repositories", readOnly: true,
			description: "List repositories of a user or organization (not in github-mcp-server; named by agentguard's default policy).",
			params: []param{req("owner", "string", "User or organization"),
				opt("type", "string", "Repository type").oneOf("all", "public", "private", "forks", "sources", "member"),
				page, perPage},
			result: func(a map[string]any) any {
				o := str(a, "owner")
				return []map[string]any{
					{"full_name": o + "/api", "private": false, "default_branch": "main"},
					{"full_name": o + "/web", "private": true, "default_branch": "main"},
				}
			},
		},
		{
			name: "list_issues", title: "List issues", readOnly: true,
			description: "List issues in a GitHub repository.",
			params: []param{owner, repo,
				opt("state", "string", "Filter by state").oneOf("OPEN", "CLOSED"),
				opt("labels", "array", "Filter by labels").of(stringItems),
				opt("orderBy", "string", "Order issues by field").oneOf("CREATED_AT", "UPDATED_AT", "COMMENTS"),
				opt("direction", "string", "Order direction").oneOf("ASC", "DESC"),
				opt("since", "string", "Filter by date (ISO 8601 timestamp)"),
				opt("after", "string", "Cursor for pagination"),
				perPage},
			result: func(a map[string]any) any {
				return []any{fakeIssue(str(a, "owner"), str(a, "repo"), 7), fakeIssue(str(a, "owner"), str(a, "repo"), 8)}
			},
		},
		{
			name: "get_issue", title: "Get issue details", readOnly: true,
			description: "Get details of a specific issue in a GitHub repository.",
			params:      []param{owner, repo, issueNumber},
			result: func(a map[string]any) any {
				return fakeIssue(str(a, "owner"), str(a, "repo"), num(a, "issue_number", 0))
			},
		},
		{
			name: "create_issue", title: "Open new issue",
			description: "Create a new issue in a GitHub repository.",
			params: []param{owner, repo,
				req("title", "string", "Issue title"),
				opt("body", "string", "Issue body content"),
				opt("assignees", "array", "Usernames to assign to this issue").of(stringItems),
				opt("labels", "array", "Labels to apply to this issue").of(stringItems),
				opt("milestone", "number", "Milestone number")},
			result: func(a map[string]any) any {
				return map[string]any{"number": 101, "state": "open", "title": str(a, "title"),
					"html_url": fmt.Sprintf("https://github.com/%s/%s/issues/101", str(a, "owner"), str(a, "repo"))}
			},
		},
		{
			name: "add_issue_comment", title: "Add comment to issue or pull request",
			description: "Add a comment to a specific issue in a GitHub repository. Use this tool with pull requests as well (pass the pull request number as issue_number).",
			params: []param{owner, repo, issueNumber,
				opt("body", "string", "Comment content")},
			result: func(a map[string]any) any {
				n := num(a, "issue_number", 0)
				return map[string]any{"id": 5000 + n, "body": str(a, "body"),
					"html_url": fmt.Sprintf("https://github.com/%s/%s/issues/%d#issuecomment-%d", str(a, "owner"), str(a, "repo"), n, 5000+n)}
			},
		},
		{
			name: "list_secret_scanning_alerts", title: "List secret scanning alerts", readOnly: true,
			description: "List secret scanning alerts in a GitHub repository.",
			params: []param{owner, repo,
				opt("state", "string", "Filter by state").oneOf("open", "resolved"),
				opt("secret_type", "string", "Comma-separated secret types to return"),
				opt("resolution", "string", "Filter by resolution").oneOf("false_positive", "wont_fix", "revoked", "pattern_edited", "pattern_deleted", "used_in_tests")},
			result: func(a map[string]any) any {
				return []map[string]any{{"number": 1, "state": "open", "secret_type": "aws_access_key_id", "secret": FakeAWSKeyID}}
			},
		},
		{
			name: "delete_file", title: "Delete file", destructive: true,
			description: "Delete a file from a GitHub repository.",
			params: []param{owner, repo,
				req("path", "string", "Path to the file to delete"),
				req("message", "string", "Commit message"),
				req("branch", "string", "Branch to delete the file from")},
			result: func(a map[string]any) any {
				return map[string]any{"commit": map[string]any{"sha": fakeSHA("delete", str(a, "path")), "message": str(a, "message")}}
			},
		},
		{
			name: "delete_repository", title: "Delete repository", destructive: true,
			description: "Delete a GitHub repository. This cannot be undone.",
			params:      []param{owner, repo},
			result: func(a map[string]any) any {
				return map[string]any{"message": fmt.Sprintf("repository %s/%s deleted (fake: nothing was deleted)", str(a, "owner"), str(a, "repo"))}
			},
		},
	}
}

func fakePullRequest(a map[string]any) any {
	o, r, n := str(a, "owner"), str(a, "repo"), num(a, "pullNumber", 0)
	return map[string]any{
		"number":   n,
		"title":    fmt.Sprintf("Fix request validation in %s", r),
		"state":    "open",
		"draft":    false,
		"user":     map[string]any{"login": "octocat"},
		"head":     map[string]any{"ref": "fix-validation", "sha": fakeSHA(o, r, n, "head")},
		"base":     map[string]any{"ref": "main", "sha": fakeSHA(o, r, n, "base")},
		"html_url": fmt.Sprintf("https://github.com/%s/%s/pull/%d", o, r, n),
		"body":     "Rejects non-POST requests early and adds tests.",
	}
}

func fakeIssue(owner, repo string, n int) any {
	return map[string]any{
		"number":   n,
		"title":    fmt.Sprintf("Flaky test in %s (#%d)", repo, n),
		"state":    "open",
		"labels":   []string{"bug", "triage"},
		"user":     map[string]any{"login": "hubot"},
		"html_url": fmt.Sprintf("https://github.com/%s/%s/issues/%d", owner, repo, n),
	}
}

func fakeFileContents(a map[string]any) any {
	o, r, path := str(a, "owner"), str(a, "repo"), strings.Trim(str(a, "path"), "/")
	ref := str(a, "ref")
	if ref == "" {
		ref = "refs/heads/main"
	}
	switch {
	case path == "":
		return []map[string]any{
			{"type": "file", "name": "README.md", "path": "README.md"},
			{"type": "file", "name": ".env", "path": ".env"},
			{"type": "dir", "name": "pkg", "path": "pkg"},
		}
	case path == ".env":
		return map[string]any{"type": "file", "path": path, "ref": ref, "sha": fakeSHA(o, r, path, ref),
			"content": "AWS_ACCESS_KEY_ID=" + FakeAWSKeyID + "\nAWS_REGION=us-east-1\n"}
	default:
		return map[string]any{"type": "file", "path": path, "ref": ref, "sha": fakeSHA(o, r, path, ref),
			"content": fmt.Sprintf("// %s in %s/%s at %s\npackage main\n", path, o, r, ref)}
	}
}
