package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

const fieldManager = "agentguard-manifests"

// Result is one object's outcome, written as one JSON line.
type Result struct {
	Source     string   `json:"source"`
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Name       string   `json:"name"`
	DryRun     bool     `json:"dryRun"`
	OK         bool     `json:"ok"`
	Error      string   `json:"error,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
}

// warnings collects the Warning headers of the last request; the applier is
// sequential, so one slice reset before each request is enough.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.list
	w.list = nil
	return l
}

type applier struct {
	client dynamic.Interface
	disc   discovery.CachedDiscoveryInterface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	warn   *warnings
	out    *json.Encoder
}

func newApplier(kubeconfig string, out io.Writer) (*applier, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	w := &warnings{}
	cfg.WarningHandler = w
	cfg.QPS, cfg.Burst = 100, 200
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc := memory.NewMemCacheClient(dc)
	return &applier{
		client: client,
		disc:   disc,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(disc),
		warn:   w,
		out:    json.NewEncoder(out),
	}, nil
}

var (
	crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	nsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

// installCRDs applies every object of paths for real (CRDs, and whatever
// else the bundle holds, such as Gateway API's ValidatingAdmissionPolicy),
// waits until each CRD is Established, then forgets the discovery cache so
// the new kinds map to resources.
func (a *applier) installCRDs(ctx context.Context, paths []string) error {
	var names []string
	for _, p := range paths {
		objs, err := load(p)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := a.apply(ctx, o, false); err != nil {
				return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
			}
			if o.GetKind() == "CustomResourceDefinition" {
				names = append(names, o.GetName())
			}
		}
	}
	for _, n := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			crd, err := a.client.Resource(crdGVR).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s not established: %w", n, err)
		}
	}
	a.disc.Invalidate()
	a.mapper.Reset()
	a.warn.take()
	return nil
}

// applyAll creates the namespaces source's objects live in (for real: a
// dry-run object in a namespace that does not exist is refused), then
// server-side applies every object with dryRun=All and reports each.
func (a *applier) applyAll(ctx context.Context, source string, objs []*unstructured.Unstructured) error {
	wanted := map[string]bool{}
	for _, o := range objs {
		if o.GetAPIVersion() == "v1" && o.GetKind() == "Namespace" {
			err := a.apply(ctx, o, false)
			if err := a.report(source, o, false, err); err != nil {
				return err
			}
			wanted[o.GetName()] = false
		}
	}
	for _, o := range objs {
		ns := o.GetNamespace()
		if ns == "" {
			continue
		}
		if _, seen := wanted[ns]; seen {
			continue
		}
		wanted[ns] = true
		bare := &unstructured.Unstructured{}
		bare.SetAPIVersion("v1")
		bare.SetKind("Namespace")
		bare.SetName(ns)
		_, err := a.client.Resource(nsGVR).Create(ctx, bare, metav1.CreateOptions{FieldManager: fieldManager})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	for _, o := range objs {
		if o.GetAPIVersion() == "v1" && o.GetKind() == "Namespace" {
			continue
		}
		err := a.apply(ctx, o, true)
		if err := a.report(source, o, true, err); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) report(source string, o *unstructured.Unstructured, dryRun bool, err error) error {
	r := Result{
		Source:     source,
		APIVersion: o.GetAPIVersion(),
		Kind:       o.GetKind(),
		Namespace:  o.GetNamespace(),
		Name:       o.GetName(),
		DryRun:     dryRun,
		OK:         err == nil,
		Warnings:   a.warn.take(),
	}
	if err != nil {
		r.Error = err.Error()
	}
	return a.out.Encode(r)
}

// apply server-side applies o with strict field validation: an unknown or
// duplicate field is an error, not a warning, and so is a value the schema
// (built-in or a CRD's OpenAPI schema, enums and CEL rules included)
// refuses.
func (a *applier) apply(ctx context.Context, o *unstructured.Unstructured, dryRun bool) error {
	a.warn.take()
	gvk := o.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("no resource for %s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = a.client.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := o.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		ri = a.client.Resource(m.Resource).Namespace(ns)
	}
	body, err := json.Marshal(o.Object)
	if err != nil {
		return err
	}
	force := true
	opts := metav1.PatchOptions{
		FieldManager:    fieldManager,
		Force:           &force,
		FieldValidation: metav1.FieldValidationStrict,
	}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Patch(ctx, o.GetName(), types.ApplyPatchType, body, opts)
	return err
}
