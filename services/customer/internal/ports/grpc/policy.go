package grpc

import (
	"github.com/guanxi-crm/guanxi/platform/auth"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// Policy says which roles may call each RPC. Which customers an agent or a
// manager then sees is the app's team scope.
var Policy = auth.Policy{
	customerv1.CustomerService_CreateCustomer_FullMethodName:   auth.Allow(auth.Feeders...),
	customerv1.CustomerService_GetCustomer_FullMethodName:      auth.Allow(auth.Readers...),
	customerv1.CustomerService_ListCustomers_FullMethodName:    auth.Allow(auth.Readers...),
	customerv1.CustomerService_UpdateCustomer_FullMethodName:   auth.Allow(auth.Feeders...),
	customerv1.CustomerService_DeleteCustomer_FullMethodName:   auth.Allow(auth.Staff...),
	customerv1.CustomerService_UndeleteCustomer_FullMethodName: auth.Allow(auth.Staff...),
	// Erasure destroys personal data for good: admins only.
	customerv1.CustomerService_EraseCustomer_FullMethodName:        auth.Allow(),
	customerv1.CustomerService_FindDuplicates_FullMethodName:       auth.Allow(auth.Staff...),
	customerv1.CustomerService_MergeCustomers_FullMethodName:       auth.Allow(auth.Manager),
	customerv1.CustomerService_TransferOwnership_FullMethodName:    auth.Allow(auth.Manager),
	customerv1.CustomerService_ListOwnershipChanges_FullMethodName: auth.Allow(auth.Manager, auth.Agent, auth.Auditor),
	customerv1.CustomerService_SetConsent_FullMethodName:           auth.Allow(auth.Feeders...),
	customerv1.CustomerService_CreateRelationship_FullMethodName:   auth.Allow(auth.Staff...),
	customerv1.CustomerService_ListRelationships_FullMethodName:    auth.Allow(auth.Readers...),
	customerv1.CustomerService_DeleteRelationship_FullMethodName:   auth.Allow(auth.Staff...),
	// The attribute schema is the company's: admins change it.
	customerv1.CustomerService_CreateAttributeDefinition_FullMethodName: auth.Allow(),
	customerv1.CustomerService_ListAttributeDefinitions_FullMethodName:  auth.Allow(auth.Readers...),
	customerv1.CustomerService_UpdateAttributeDefinition_FullMethodName: auth.Allow(),
	customerv1.CustomerService_DeleteAttributeDefinition_FullMethodName: auth.Allow(),
	customerv1.CustomerService_ListAuditEntries_FullMethodName:          auth.Allow(auth.Auditor),
	customerv1.CustomerService_ImportCustomers_FullMethodName:           auth.Allow(auth.Integration),
	// Pulling the list in bulk needs the export permission on top of a
	// role that reads customers; agents and managers get only their teams'.
	customerv1.CustomerService_ExportCustomers_FullMethodName: auth.Allow(auth.Manager, auth.Agent, auth.Auditor, auth.Analyst).Needing(auth.PermissionExport),
}
