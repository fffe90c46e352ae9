package grpc

import (
	"github.com/guanxi-crm/guanxi/platform/auth"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// Role sets of the policy. Admins and services may call every RPC.
var (
	// staff work with customers day to day.
	staff = []auth.Role{auth.Manager, auth.Agent}
	// feeders are staff and the systems that push customer data in.
	feeders = append(staff[:len(staff):len(staff)], auth.Integration)
	// readers may read customers: everyone but a caller without a role.
	readers = append(feeders[:len(feeders):len(feeders)], auth.Auditor, auth.Analyst)
)

// Policy says which roles may call each RPC. Which customers an agent or a
// manager then sees is the app's team scope.
var Policy = auth.Policy{
	customerv1.CustomerService_CreateCustomer_FullMethodName:   auth.Allow(feeders...),
	customerv1.CustomerService_GetCustomer_FullMethodName:      auth.Allow(readers...),
	customerv1.CustomerService_ListCustomers_FullMethodName:    auth.Allow(readers...),
	customerv1.CustomerService_UpdateCustomer_FullMethodName:   auth.Allow(feeders...),
	customerv1.CustomerService_DeleteCustomer_FullMethodName:   auth.Allow(staff...),
	customerv1.CustomerService_UndeleteCustomer_FullMethodName: auth.Allow(staff...),
	// Erasure destroys personal data for good: admins only.
	customerv1.CustomerService_EraseCustomer_FullMethodName:        auth.Allow(),
	customerv1.CustomerService_FindDuplicates_FullMethodName:       auth.Allow(staff...),
	customerv1.CustomerService_MergeCustomers_FullMethodName:       auth.Allow(auth.Manager),
	customerv1.CustomerService_TransferOwnership_FullMethodName:    auth.Allow(auth.Manager),
	customerv1.CustomerService_ListOwnershipChanges_FullMethodName: auth.Allow(auth.Manager, auth.Agent, auth.Auditor),
	customerv1.CustomerService_SetConsent_FullMethodName:           auth.Allow(feeders...),
	customerv1.CustomerService_CreateRelationship_FullMethodName:   auth.Allow(staff...),
	customerv1.CustomerService_ListRelationships_FullMethodName:    auth.Allow(readers...),
	customerv1.CustomerService_DeleteRelationship_FullMethodName:   auth.Allow(staff...),
	// The attribute schema is the company's: admins change it.
	customerv1.CustomerService_CreateAttributeDefinition_FullMethodName: auth.Allow(),
	customerv1.CustomerService_ListAttributeDefinitions_FullMethodName:  auth.Allow(readers...),
	customerv1.CustomerService_UpdateAttributeDefinition_FullMethodName: auth.Allow(),
	customerv1.CustomerService_DeleteAttributeDefinition_FullMethodName: auth.Allow(),
	customerv1.CustomerService_ListAuditEntries_FullMethodName:          auth.Allow(auth.Auditor),
	customerv1.CustomerService_ImportCustomers_FullMethodName:           auth.Allow(auth.Integration),
	// Pulling the list in bulk needs the export permission on top of a
	// role that reads customers; agents and managers get only their teams'.
	customerv1.CustomerService_ExportCustomers_FullMethodName: auth.Allow(auth.Manager, auth.Agent, auth.Auditor, auth.Analyst).Needing(auth.PermissionExport),
}
