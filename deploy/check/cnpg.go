package main

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// customKinds are the custom resources the manifests may hold, each with
// the type its objects decode into strictly. CloudNativePG's Go API module
// is not served by the module proxy this project builds from, so its types
// are the subset of fields guanxi's manifests use, spelled as in
// CloudNativePG's API reference (postgresql.cnpg.io/v1): a field outside
// it fails the check, and a new one is added here from that reference.
var customKinds = map[string]func() any{
	"postgresql.cnpg.io/v1/Cluster":  func() any { return new(cnpgCluster) },
	"postgresql.cnpg.io/v1/Database": func() any { return new(cnpgDatabase) },
}

type cnpgCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Instances             int                         `json:"instances"`
		ImageName             string                      `json:"imageName,omitempty"`
		PrimaryUpdateStrategy string                      `json:"primaryUpdateStrategy,omitempty"`
		Storage               cnpgStorage                 `json:"storage"`
		WalStorage            *cnpgStorage                `json:"walStorage,omitempty"`
		Resources             corev1.ResourceRequirements `json:"resources,omitempty"`
		Monitoring            *struct {
			EnablePodMonitor bool `json:"enablePodMonitor,omitempty"`
		} `json:"monitoring,omitempty"`
		PostgreSQL            cnpgPostgreSQL `json:"postgresql,omitempty"`
		Bootstrap             *cnpgBootstrap `json:"bootstrap,omitempty"`
		EnableSuperuserAccess *bool          `json:"enableSuperuserAccess,omitempty"`
	} `json:"spec"`
}

type cnpgStorage struct {
	Size         string `json:"size"`
	StorageClass string `json:"storageClass,omitempty"`
}

type cnpgPostgreSQL struct {
	Parameters map[string]string `json:"parameters,omitempty"`
	PgHBA      []string          `json:"pg_hba,omitempty"`
}

type cnpgBootstrap struct {
	InitDB *struct {
		Database string `json:"database,omitempty"`
		Owner    string `json:"owner,omitempty"`
		Secret   *struct {
			Name string `json:"name"`
		} `json:"secret,omitempty"`
	} `json:"initdb,omitempty"`
}

type cnpgDatabase struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Name    string `json:"name"`
		Owner   string `json:"owner"`
		Ensure  string `json:"ensure,omitempty"`
		Cluster struct {
			Name string `json:"name"`
		} `json:"cluster"`
		DatabaseReclaimPolicy string `json:"databaseReclaimPolicy,omitempty"`
	} `json:"spec"`
}
