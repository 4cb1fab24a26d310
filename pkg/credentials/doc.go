// Package credentials holds provider credentials and puts them on requests,
// so that agents never hold them. A credential comes from a file (a mounted
// Kubernetes Secret, re-read when it changes) or an environment variable.
// Its value never leaves this package except into the outgoing header: it
// prints, logs and marshals as "[redacted]".
package credentials
