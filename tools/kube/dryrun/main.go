// Command dryrun checks Kubernetes manifests against a real API server, for
// e2e/kube. It lives in this wrapper module so client-go and kustomize stay
// out of agentguard's go.mod; e2e/kube builds it and drives it.
//
//	dryrun render DIR                  kustomize build DIR (kubectl's default
//	                                   load restrictions) to stdout
//	dryrun apply -kubeconfig F [-crds P]... PATH...
//	                                   install the CRDs in P (files or
//	                                   directories) for real, then server-side
//	                                   apply every object of each PATH (a
//	                                   kustomization directory or a YAML file)
//	                                   with dryRun=All and fieldValidation=
//	                                   Strict; one JSON result per line
//	dryrun mesh FILE                   decode the meshConfig of an istiod Helm
//	                                   values file strictly into Istio's
//	                                   MeshConfig (istio.io/api)
//
// Exit status: 0 when the command ran (apply reports each object's outcome
// on stdout, failures included), 1 when it could not run or, for render and
// mesh, when the input is invalid.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dryrun:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: dryrun render|apply|mesh ...")
	}
	switch args[0] {
	case "render":
		if len(args) != 2 {
			return errors.New("usage: dryrun render DIR")
		}
		out, err := render(args[1])
		if err != nil {
			return err
		}
		_, err = stdout.Write(out)
		return err
	case "mesh":
		if len(args) != 2 {
			return errors.New("usage: dryrun mesh FILE")
		}
		return checkMeshValues(args[1])
	case "apply":
		return runApply(ctx, args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runApply(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the API server")
	timeout := fs.Duration("timeout", 3*time.Minute, "overall time limit")
	var crds stringList
	fs.Var(&crds, "crds", "CRD file or directory to install first (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *kubeconfig == "" || fs.NArg() == 0 {
		return errors.New("usage: dryrun apply -kubeconfig F [-crds P]... PATH...")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	a, err := newApplier(*kubeconfig, stdout)
	if err != nil {
		return err
	}
	if err := a.installCRDs(ctx, crds); err != nil {
		return fmt.Errorf("installing CRDs: %w", err)
	}
	for _, p := range fs.Args() {
		objs, err := load(p)
		if err != nil {
			return err
		}
		if err := a.applyAll(ctx, p, objs); err != nil {
			return err
		}
	}
	return nil
}
