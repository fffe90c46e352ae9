package suite_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	typev1 "github.com/guanxi-crm/guanxi/proto/guanxi/type/v1"
)

// TestSameOrderCountedOnce is issue 20's item 2c: a purchase posted twice
// with the same order id and no idempotency key is one purchase (the same
// interaction, points credited once), the same order id with another total
// or customer is a conflict (409 / AlreadyExists), concurrent posts of one
// order record it once, and call-center ingest treats an order the same way.
func TestSameOrderCountedOnce(t *testing.T) {
	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	id := api.mustDo("POST", "/v1/customers", `{"displayName":"赵敏","phone":"+8613800020001"}`)["id"].(string)
	other := api.mustDo("POST", "/v1/customers", `{"displayName":"周芷若","phone":"+8613800020002"}`)["id"].(string)

	// Two posts, no Idempotency-Key: one interaction.
	first := api.mustDo("POST", "/v1/interactions", purchaseBody(id, "SO-1", "5000"))
	again := api.mustDo("POST", "/v1/interactions", purchaseBody(id, "SO-1", "5000"))
	if first["id"] == nil || again["id"] != first["id"] {
		t.Fatalf("second post of order SO-1 recorded interaction %v, want the first one %v", again["id"], first["id"])
	}

	// Another total, another customer: conflicts, over REST and gRPC.
	code, out := api.do("POST", "/v1/interactions", purchaseBody(id, "SO-1", "9900"))
	if code != http.StatusConflict || !strings.Contains(out["message"].(string), "SO-1") {
		t.Errorf("order SO-1 with another total: status %d %v, want 409 naming the order", code, out)
	}
	if code, out := api.do("POST", "/v1/interactions", purchaseBody(other, "SO-1", "5000")); code != http.StatusConflict {
		t.Errorf("order SO-1 for another customer: status %d %v, want 409", code, out)
	}
	client := interactionv1.NewInteractionServiceClient(adminConn(t, e, "interaction"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	grpcPurchase := func(minor int64) *interactionv1.RecordInteractionRequest {
		return &interactionv1.RecordInteractionRequest{Interaction: &interactionv1.Interaction{
			CustomerId: id, Kind: interactionv1.InteractionKind_INTERACTION_KIND_PURCHASE,
			Purchase: &interactionv1.Purchase{OrderId: "SO-1", Total: &typev1.Money{CurrencyCode: "CNY", AmountMinor: minor}},
		}}
	}
	if resp, err := client.RecordInteraction(ctx, grpcPurchase(5000)); err != nil || resp.GetInteraction().GetId() != first["id"] {
		t.Errorf("gRPC repeat of SO-1 = %v, %v; want interaction %v", resp.GetInteraction().GetId(), err, first["id"])
	}
	if _, err := client.RecordInteraction(ctx, grpcPurchase(1)); status.Code(err) != codes.AlreadyExists {
		t.Errorf("gRPC SO-1 with another total: %v, want AlreadyExists", err)
	}

	// Concurrent posts of a new order: one interaction, every caller gets it.
	const posts = 8
	ids := make([]any, posts)
	var wg sync.WaitGroup
	for i := range posts {
		wg.Go(func() {
			code, out := api.do("POST", "/v1/interactions", purchaseBody(id, "SO-2", "2000"))
			if code != http.StatusOK {
				t.Errorf("concurrent post %d: status %d %v", i, code, out)
				return
			}
			ids[i] = out["id"]
		})
	}
	wg.Wait()
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("concurrent posts of SO-2 answered interactions %v, want one", ids)
		}
	}

	// Call-center ingest: a new event reporting a recorded order is a
	// duplicate of it; with another total it is rejected; two events of
	// one new order in one batch record it once.
	batch := `{"events":[` +
		`{"source":"shop","externalId":"e-1","interaction":{"customerId":"` + id + `","kind":"INTERACTION_KIND_PURCHASE","purchase":{"orderId":"SO-3","total":{"currencyCode":"CNY","amountMinor":"1000"}}}},` +
		`{"source":"shop","externalId":"e-2","interaction":{"customerId":"` + id + `","kind":"INTERACTION_KIND_PURCHASE","purchase":{"orderId":"SO-3","total":{"currencyCode":"CNY","amountMinor":"1000"}}}},` +
		`{"source":"shop","externalId":"e-3","interaction":{"customerId":"` + id + `","kind":"INTERACTION_KIND_PURCHASE","purchase":{"orderId":"SO-3","total":{"currencyCode":"CNY","amountMinor":"7000"}}}}]}`
	results := api.mustDo("POST", "/v1/interactions:batchIngest", batch)["results"].([]any)
	r1, r2, r3 := results[0].(map[string]any), results[1].(map[string]any), results[2].(map[string]any)
	if r1["outcome"] != "INGEST_OUTCOME_CREATED" || r2["outcome"] != "INGEST_OUTCOME_DUPLICATE" || r2["interactionId"] != r1["interactionId"] {
		t.Errorf("two events of order SO-3 = %v, %v; want one created and its duplicate", r1, r2)
	}
	if r3["outcome"] != "INGEST_OUTCOME_REJECTED" || r3["field"] != "interaction.purchase.order_id" {
		t.Errorf("order SO-3 with another total = %v, want rejected on interaction.purchase.order_id", r3)
	}
	later := api.mustDo("POST", "/v1/interactions:batchIngest", `{"events":[`+
		`{"source":"shop","externalId":"e-4","interaction":{"customerId":"`+id+`","kind":"INTERACTION_KIND_PURCHASE","purchase":{"orderId":"SO-3","total":{"currencyCode":"CNY","amountMinor":"1000"}}}}]}`)
	if r := later["results"].([]any)[0].(map[string]any); r["outcome"] != "INGEST_OUTCOME_DUPLICATE" || r["interactionId"] != r1["interactionId"] {
		t.Errorf("a later event of order SO-3 = %v, want a duplicate of %v", r, r1["interactionId"])
	}
	// An order id is scoped by its source: the shop's SO-1 is not the
	// one posted without a source.
	shop := api.mustDo("POST", "/v1/interactions", `{"customerId":"`+id+`","source":"shop","purchase":{"orderId":"SO-1","total":{"currencyCode":"CNY","amountMinor":"100"}}}`)
	if shop["id"] == first["id"] {
		t.Errorf("the shop's order SO-1 answered the sourceless SO-1")
	}

	// Points once per order: 50 + 20 + 10 + 1 yuan; the timeline shows
	// no purchase, and so no event, beyond the four orders.
	testinfra.Eventually(t, 10*time.Second, "each order credited once: 81 points", func() bool {
		_, acct := api.do("GET", "/v1/customers/"+id+"/loyaltyAccount", "")
		return acct["pointsBalance"] == "81"
	})
	purchases, _ := api.mustDo("GET", "/v1/customers/"+id+"/interactions?filter=kind%20%3D%20PURCHASE", "")["interactions"].([]any)
	if len(purchases) != 4 {
		t.Errorf("the timeline holds %d purchases, want 4", len(purchases))
	}
}
