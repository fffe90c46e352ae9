package interaction_test

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
)

// phoneBook is the part of fakeCustomers that finds customers by phone
// and creates prospects, as the customer service does: ListCustomers with
// a `phone = "..."` filter, CreateCustomer idempotent by request id.
type phoneBook struct {
	phones    map[string]string // E.164 -> customer id
	requests  map[string]string // request id -> customer id
	prospects map[string]*customerv1.Customer
}

func (f *fakeCustomers) addPhone(phone, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.initBook()
	f.phones[phone] = id
	if f.more == nil {
		f.more = map[string]bool{}
	}
	f.more[id] = true
}

func (f *fakeCustomers) initBook() {
	if f.phones == nil {
		f.phones, f.requests, f.prospects = map[string]string{}, map[string]string{}, map[string]*customerv1.Customer{}
	}
}

// prospectCount returns how many prospects were created.
func (f *fakeCustomers) prospectCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.prospects)
}

func (f *fakeCustomers) ListCustomers(_ context.Context, req *customerv1.ListCustomersRequest) (*customerv1.ListCustomersResponse, error) {
	phone, ok := strings.CutPrefix(req.GetFilter(), "phone = ")
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "fake understands phone filters only, got %q", req.GetFilter())
	}
	phone = strings.Trim(phone, `"`)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.initBook()
	resp := &customerv1.ListCustomersResponse{}
	if id, ok := f.phones[phone]; ok {
		resp.Customers = append(resp.Customers, &customerv1.Customer{Id: id, Phone: phone, State: customerv1.CustomerState_CUSTOMER_STATE_ACTIVE})
	}
	return resp, nil
}

func (f *fakeCustomers) CreateCustomer(_ context.Context, req *customerv1.CreateCustomerRequest) (*customerv1.CreateCustomerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.initBook()
	c := req.GetCustomer()
	if id, ok := f.requests[req.GetRequestId()]; ok && req.GetRequestId() != "" {
		return &customerv1.CreateCustomerResponse{Customer: f.prospects[id]}, nil
	}
	if _, ok := f.phones[c.GetPhone()]; ok {
		return nil, status.Error(codes.AlreadyExists, "phone belongs to another customer")
	}
	id := uuid.Must(uuid.NewV7()).String()
	created := &customerv1.Customer{Id: id, DisplayName: c.GetDisplayName(), Phone: c.GetPhone(), Kind: c.GetKind(),
		LifecycleStage: c.GetLifecycleStage(), State: customerv1.CustomerState_CUSTOMER_STATE_ACTIVE}
	f.prospects[id] = created
	f.requests[req.GetRequestId()] = id
	f.phones[c.GetPhone()] = id
	if f.more == nil {
		f.more = map[string]bool{}
	}
	f.more[id] = true
	return &customerv1.CreateCustomerResponse{Customer: created}, nil
}
