package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// object is one rendered object, decoded into its API type.
type object struct {
	kind, name, namespace string
	obj                   runtime.Object
}

func (o object) String() string { return o.kind + "/" + o.name }

// decoder decodes YAML or JSON strictly into the API types guanxi's
// manifests use: an unknown or duplicated field is an error, as a server
// with field validation set to Strict would answer.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, autoscalingv2.AddToScheme,
		networkingv1.AddToScheme, batchv1.AddToScheme, rbacv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// render builds the kustomization in dir, as `kubectl kustomize` does, and
// decodes every object it yields. Custom resources (CloudNativePG) are
// decoded by decodeCustom.
func render(dir string) ([]object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	var objs []object
	var errs []error
	for _, res := range resources.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			return nil, err
		}
		o := object{kind: res.GetKind(), name: res.GetName(), namespace: res.GetNamespace()}
		if custom, ok := customKinds[res.GetApiVersion()+"/"+res.GetKind()]; ok {
			js, err := res.MarshalJSON()
			if err == nil {
				err = decodeCustom(js, custom())
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", o, err))
			}
			continue
		}
		if o.obj, _, err = decoder.Decode(y, nil, nil); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o, err))
			continue
		}
		objs = append(objs, o)
	}
	return objs, errors.Join(errs...)
}

// decodeCustom decodes a custom resource strictly into v.
func decodeCustom(js []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
