package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	"sigs.k8s.io/yaml"
)

// checkMeshValues decodes the meshConfig of an istiod Helm values file into
// Istio's MeshConfig proto with unknown fields and bad enum values refused,
// the way istiod reads its mesh config. No CRD holds mesh config, so the API
// server cannot check it; this does.
func checkMeshValues(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var values map[string]json.RawMessage
	if err := yaml.Unmarshal(data, &values); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	mc, ok := values["meshConfig"]
	if !ok {
		return fmt.Errorf("%s: no meshConfig", path)
	}
	var m meshv1alpha1.MeshConfig
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(mc, &m); err != nil {
		return fmt.Errorf("%s: meshConfig: %w", path, err)
	}
	if len(m.GetExtensionProviders()) == 0 {
		return errors.New(path + ": meshConfig has no extensionProviders")
	}
	return nil
}
