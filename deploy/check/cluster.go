package main

import (
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// cluster is one rendered overlay: its objects by kind, and where its
// problems go.
type cluster struct {
	deployments  []*appsv1.Deployment
	statefulSets []*appsv1.StatefulSet
	services     []*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	pdbs         []*policyv1.PodDisruptionBudget
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	netpols      []*networkingv1.NetworkPolicy
	problem      func(format string, args ...any)
}

func newCluster(objs []object, problem func(format string, args ...any)) *cluster {
	c := &cluster{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, problem: problem}
	for _, o := range objs {
		switch v := o.obj.(type) {
		case *appsv1.Deployment:
			c.deployments = append(c.deployments, v)
		case *appsv1.StatefulSet:
			c.statefulSets = append(c.statefulSets, v)
		case *corev1.Service:
			c.services = append(c.services, v)
		case *corev1.ConfigMap:
			c.configMaps[v.Name] = v
		case *corev1.Secret:
			c.secrets[v.Name] = v
		case *policyv1.PodDisruptionBudget:
			c.pdbs = append(c.pdbs, v)
		case *autoscalingv2.HorizontalPodAutoscaler:
			c.hpas = append(c.hpas, v)
		case *networkingv1.NetworkPolicy:
			c.netpols = append(c.netpols, v)
		}
	}
	return c
}

// checkWorkloads holds every Deployment to the house rules: each container
// probed (startup, readiness, liveness), with CPU and memory requests and a
// memory limit, running as non-root, and the Deployment covered by a
// PodDisruptionBudget, scaled by a HorizontalPodAutoscaler and guarded by a
// NetworkPolicy.
func (c *cluster) checkWorkloads() {
	for _, d := range c.deployments {
		pod := d.Spec.Template.Spec
		podNonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
		for _, ctr := range pod.Containers {
			where := "Deployment/" + d.Name + " container " + ctr.Name
			if ctr.StartupProbe == nil || ctr.ReadinessProbe == nil || ctr.LivenessProbe == nil {
				c.problem("%s: needs startup, readiness and liveness probes", where)
			}
			req, lim := ctr.Resources.Requests, ctr.Resources.Limits
			if req.Cpu().IsZero() || req.Memory().IsZero() || lim.Memory().IsZero() {
				c.problem("%s: needs CPU and memory requests and a memory limit", where)
			}
			nonRoot := podNonRoot
			if sc := ctr.SecurityContext; sc != nil && sc.RunAsNonRoot != nil {
				nonRoot = *sc.RunAsNonRoot
			}
			if !nonRoot {
				c.problem("%s: must run as non-root (runAsNonRoot: true)", where)
			}
		}
		podLabels := labels.Set(d.Spec.Template.Labels)
		if !slices.ContainsFunc(c.pdbs, func(p *policyv1.PodDisruptionBudget) bool {
			return p.Namespace == d.Namespace && selects(p.Spec.Selector, podLabels)
		}) {
			c.problem("Deployment/%s: no PodDisruptionBudget selects its pods", d.Name)
		}
		if !slices.ContainsFunc(c.hpas, func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
			ref := h.Spec.ScaleTargetRef
			return h.Namespace == d.Namespace && ref.Kind == "Deployment" && ref.Name == d.Name
		}) {
			c.problem("Deployment/%s: no HorizontalPodAutoscaler scales it", d.Name)
		}
		if !slices.ContainsFunc(c.netpols, func(p *networkingv1.NetworkPolicy) bool {
			return p.Namespace == d.Namespace && selects(&p.Spec.PodSelector, podLabels)
		}) {
			c.problem("Deployment/%s: no NetworkPolicy selects its pods", d.Name)
		}
	}
	// An empty podSelector selects every pod of the namespace: a policy
	// written for one workload would then open or close them all.
	for _, p := range c.netpols {
		if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 {
			c.problem("NetworkPolicy/%s: selects every pod of the namespace", p.Name)
		}
	}
}

// checkServices checks that every Service selects pods and that each of
// its ports reaches a port those pods' containers declare.
func (c *cluster) checkServices() {
	for _, s := range c.services {
		if len(s.Spec.Selector) == 0 {
			continue // a Service without a selector names its endpoints itself
		}
		var pods []corev1.PodSpec
		for _, d := range c.deployments {
			if d.Namespace == s.Namespace && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
				pods = append(pods, d.Spec.Template.Spec)
			}
		}
		for _, st := range c.statefulSets {
			if st.Namespace == s.Namespace && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(st.Spec.Template.Labels)) {
				pods = append(pods, st.Spec.Template.Spec)
			}
		}
		if len(pods) == 0 {
			c.problem("Service/%s: its selector %v matches no pods", s.Name, s.Spec.Selector)
			continue
		}
		for _, p := range s.Spec.Ports {
			target := p.TargetPort
			if target.IntVal == 0 && target.StrVal == "" {
				target.IntVal = p.Port
			}
			if !slices.ContainsFunc(pods, func(pod corev1.PodSpec) bool { return declares(pod, target.StrVal, target.IntVal) }) {
				c.problem("Service/%s port %s: target %s is no container port of its pods", s.Name, p.Name, target.String())
			}
		}
	}
}

// declares reports whether a container of pod declares the port named
// name, or numbered number.
func declares(pod corev1.PodSpec, name string, number int32) bool {
	for _, ctr := range pod.Containers {
		for _, cp := range ctr.Ports {
			if (name != "" && cp.Name == name) || (name == "" && cp.ContainerPort == number) {
				return true
			}
		}
	}
	return false
}

func selects(sel *metav1.LabelSelector, set labels.Set) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && !s.Empty() && s.Matches(set)
}

// checkSettings checks the environment of every guanxi container: each
// variable it must be given is set (a value, or a reference that resolves:
// a ConfigMap key of the overlay, or a Secret, which ops may create
// outside it), and every GUANXI_ variable it is given is one guanxi reads.
func (c *cluster) checkSettings(settings Settings) {
	for _, d := range c.deployments {
		for _, ctr := range d.Spec.Template.Spec.Containers {
			prefix := prefixOf(ctr.Image)
			if prefix == "" {
				continue
			}
			where := "Deployment/" + d.Name + " container " + ctr.Name
			set := map[string]bool{}
			for _, e := range ctr.Env {
				set[e.Name] = c.resolves(where, e)
				if strings.HasPrefix(e.Name, "GUANXI_") && !settings.known[e.Name] {
					c.problem("%s: sets %s, which no guanxi process reads", where, e.Name)
				}
			}
			for _, name := range settings.required(prefix) {
				if !set[name] {
					c.problem("%s: %s must be set in a cluster", where, name)
				}
			}
		}
	}
}

// resolves reports whether env var e gets a value, reporting a reference
// to a ConfigMap key the overlay does not hold.
func (c *cluster) resolves(where string, e corev1.EnvVar) bool {
	if e.ValueFrom == nil {
		return e.Value != ""
	}
	if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
		has := false
		if cm, ok := c.configMaps[ref.Name]; ok {
			_, has = cm.Data[ref.Key]
		}
		if !has && (ref.Optional == nil || !*ref.Optional) {
			c.problem("%s: %s refers to ConfigMap %s key %s, which the overlay does not hold", where, e.Name, ref.Name, ref.Key)
		}
		return has
	}
	if ref := e.ValueFrom.SecretKeyRef; ref != nil {
		if s, ok := c.secrets[ref.Name]; ok {
			_, inData := s.Data[ref.Key]
			_, inString := s.StringData[ref.Key]
			if !inData && !inString {
				c.problem("%s: %s refers to Secret %s key %s, which it does not hold", where, e.Name, ref.Name, ref.Key)
				return false
			}
		}
		return true
	}
	return true
}
