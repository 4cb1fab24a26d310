#!/usr/bin/env bash
# Provides a real Kubernetes API server for e2e/kube, which validates
# manifests/ by server-side dry-run:
#
#   - etcd from Debian (package etcd-server), installed when run as root;
#     the system service it may start is stopped (the test runs its own);
#   - kube-apiserver built from k8s.io/kubernetes at the version
#     tools/kube/go.mod pins (several minutes, once), cached by version in
#     ${XDG_CACHE_HOME:-$HOME/.cache}/agentguard/kube/<version>/ so reruns
#     and fresh clones on the same machine skip the build;
#   - the Go modules the test reads CRDs from and the validator's
#     dependencies, downloaded now so the test does no long fetch.
#
# Prints the paths it provides. KUBE_APISERVER set to an existing binary
# skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."

GO="${GO:-go}"
KUBE_MOD=tools/kube

find_etcd() {
	command -v etcd 2>/dev/null || { [ -x /usr/bin/etcd ] && echo /usr/bin/etcd; } || true
}

install_etcd() {
	if [ -n "$(find_etcd)" ]; then
		return
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "kube.sh: etcd is not installed and this is not root; run 'sudo apt-get install -y etcd-server' (or put etcd on PATH)" >&2
		exit 1
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "kube.sh: etcd is not installed and apt-get is missing; install etcd by other means" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine's package lists may be empty or stale.
	if ! apt-cache policy etcd-server 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		apt-get update -qq
	fi
	if ! apt-get install -y -qq --no-install-recommends etcd-server >/dev/null; then
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
	fi
	# The package may start a system etcd on 2379; the test runs its own on
	# free ports and must not depend on it.
	if command -v service >/dev/null 2>&1; then
		service etcd stop >/dev/null 2>&1 || true
	fi
	if [ -z "$(find_etcd)" ]; then
		echo "kube.sh: installed etcd-server but cannot find the etcd binary" >&2
		exit 1
	fi
}

build_apiserver() {
	if [ -n "${KUBE_APISERVER:-}" ] && [ -x "$KUBE_APISERVER" ]; then
		echo "$KUBE_APISERVER"
		return
	fi
	local version cache out
	version="$(cd "$KUBE_MOD" && "$GO" list -m -f '{{.Version}}' k8s.io/kubernetes)"
	cache="${XDG_CACHE_HOME:-$HOME/.cache}/agentguard/kube/$version"
	out="$cache/kube-apiserver"
	if [ -x "$out" ]; then
		echo "$out"
		return
	fi
	mkdir -p "$cache"
	local minor="${version#v1.}"
	minor="${minor%%.*}"
	echo "kube.sh: building kube-apiserver $version (several minutes, once per version)..." >&2
	local start=$SECONDS
	# The version ldflags are what the release build sets; without them
	# the server reports v0.0.0-master.
	(cd "$KUBE_MOD" && "$GO" build -trimpath -o "$out.tmp" \
		-ldflags "-s -w \
			-X k8s.io/component-base/version.gitVersion=$version \
			-X k8s.io/component-base/version.gitMajor=1 \
			-X k8s.io/component-base/version.gitMinor=$minor \
			-X k8s.io/component-base/version.gitTreeState=clean" \
		k8s.io/kubernetes/cmd/kube-apiserver)
	mv "$out.tmp" "$out"
	echo "kube.sh: built kube-apiserver $version in $((SECONDS - start))s" >&2
	echo "$out"
}

install_etcd
apiserver="$(build_apiserver)"
# The validator's dependencies (client-go, kustomize) and the CRD modules
# the test reads: fetched and compiled now, so the test only links.
(cd "$KUBE_MOD" && "$GO" build -o /dev/null ./dryrun)
gwapi="$(sed -n 's/^const GatewayAPIVersion = "\(.*\)"$/\1/p' e2e/kube/doc.go)"
"$GO" mod download sigs.k8s.io/gateway-api@"$gwapi"
(cd "$KUBE_MOD" && "$GO" mod download istio.io/api)

echo "etcd: $(find_etcd) ($("$(find_etcd)" --version 2>/dev/null | head -n1))"
echo "kube-apiserver: $apiserver ($("$apiserver" --version 2>/dev/null))"
