// Package kube validates manifests/ (kustomize bases and overlays) against
// a real Kubernetes API server, and cross-checks them against agentguard's
// config and the Envoy configs in envoy/.
//
// The tests start etcd (Debian's etcd-server) and a kube-apiserver built
// from k8s.io/kubernetes by scripts/kube.sh, install the Gateway API and
// Istio CRDs from the Go module cache, and server-side apply every rendered
// object with dryRun=All and strict field validation, through a small
// validator (tools/kube/dryrun) built from the tools/kube module, which
// keeps client-go and kustomize out of agentguard's go.mod. Broken
// manifests in testdata/broken must be refused, proving the check bites.
//
// Without etcd or kube-apiserver the server test fails when CI=true and
// skips loudly otherwise; the cross-checks need neither and always run.
package kube

// GatewayAPIVersion is the sigs.k8s.io/gateway-api release whose standard
// CRDs (config/crd/standard) the API server gets. It is not required by
// tools/kube's go.mod (its go.mod would move the versions kube-apiserver
// is built with), so it is fetched by `go mod download`. The Istio CRDs
// come from istio.io/api at the version tools/kube/go.mod requires, the
// one whose MeshConfig checks istiod-values.yaml.
const GatewayAPIVersion = "v1.6.3"
