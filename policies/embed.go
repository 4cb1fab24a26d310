// Package policies holds the shipped deployments and their policy tests.
// codereview.yaml is embedded so that `agentguard serve` without --config
// runs the default deployment.
package policies

import _ "embed"

// CodeReview is the default deployment (codereview.yaml).
//
//go:embed codereview.yaml
var CodeReview []byte

// CodeReviewName names it in errors and the admin output.
const CodeReviewName = "embedded:policies/codereview.yaml"
