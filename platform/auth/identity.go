// Package auth is who may call guanxi and what they may do: the caller's
// verified identity (subject, roles, teams, permissions) carried by a bearer
// token, the gRPC interceptors with which every service refuses calls
// without one and enforces its per-RPC policy, and the credentials services
// present when they call each other.
//
// Every process of a deployment reads the same GUANXI_AUTH_* variables (see
// Config). The REST edge verifies a caller's token and forwards it; each
// service verifies it again, so a direct gRPC client authenticates exactly
// as a REST one does and a service never trusts the network.
package auth

import (
	"context"
	"slices"
)

// Role is what a caller does in the company; policies grant RPCs to roles.
type Role string

// The roles of DESIGN.md section 9, and Service for guanxi's own processes.
const (
	// Admin may call everything and holds every permission.
	Admin Role = "admin"
	// Manager leads teams: sees and changes the customers of their teams,
	// transfers and merges them.
	Manager Role = "manager"
	// Agent (sales, service) sees and changes only customers they or their
	// team own.
	Agent Role = "agent"
	// Integration is a system pushing data in: call centers, shops,
	// delivery receipts.
	Integration Role = "integration"
	// Auditor reads everything, the audit log included, and changes nothing.
	Auditor Role = "auditor"
	// Analyst reads customers and analytics and changes nothing.
	Analyst Role = "analyst"
	// Service is a guanxi service calling another. It may call every RPC
	// and name the person it acts for (ActorMetadata).
	Service Role = "service"
)

// Roles are the roles a token may name, in the order help texts list them.
var Roles = []Role{Admin, Manager, Agent, Integration, Auditor, Analyst, Service}

// Role groups the services' policies share (admins and services may call
// every RPC anyway).
var (
	// Staff work with customers day to day.
	Staff = []Role{Manager, Agent}
	// Feeders are staff and the systems that push data in.
	Feeders = []Role{Manager, Agent, Integration}
	// Readers may read what a service keeps: every role of a person or a
	// system.
	Readers = []Role{Manager, Agent, Integration, Auditor, Analyst}
)

// PermissionExport lets a caller export customer lists in bulk; roles alone
// do not grant it (except Admin), so that pulling the whole list is a
// deliberate grant.
const PermissionExport = "export"

// ActorMetadata names the person a Service caller acts for, for the audit
// log. Services ignore it from any other caller.
const ActorMetadata = "x-guanxi-actor"

// Identity is a verified caller.
type Identity struct {
	// Subject is who the token was issued to ("u-1024", "svc:interaction").
	Subject string
	Roles   []Role
	// Teams are the teams the caller belongs to (agents) or leads
	// (managers).
	Teams       []string
	Permissions []string
	// Actor is whom the call is made for: Subject, or for a Service caller
	// the person named in ActorMetadata ("" when it names none).
	Actor string
	// Via is the service a call came through: a Service caller's Subject,
	// "" for a person or system calling directly. With Actor it tells an
	// audit log who asked and which service asked for them.
	Via string
}

// Has reports whether the identity holds role.
func (id Identity) Has(role Role) bool {
	return slices.Contains(id.Roles, role)
}

// Can reports whether the identity holds permission; admins and services
// hold all.
func (id Identity) Can(permission string) bool {
	return id.Has(Admin) || id.Has(Service) || slices.Contains(id.Permissions, permission)
}

// SeesAll reports whether the identity sees every customer, rather than
// only those it or its teams own: admins, services and the read-only roles
// do; agents, managers and integrations are scoped to their teams unless
// they also hold one of those roles.
func (id Identity) SeesAll() bool {
	return id.Has(Admin) || id.Has(Service) || id.Has(Auditor) || id.Has(Analyst) || id.Has(Integration)
}

type identityKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the identity the interceptors verified, and false
// for a context that carries none (a background job, a consumer).
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}
