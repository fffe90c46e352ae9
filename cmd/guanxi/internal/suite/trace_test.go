package suite_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/guanxi-crm/guanxi/platform/testinfra"
)

// TestPurchaseIsOneTrace is issue 23's trace item: a purchase posted to the
// REST edge is one trace from the gateway through the interaction service,
// over NATS (the traceparent the outbox kept with the event) into the
// consumers of loyalty, segmentation and notification, every span's parent
// in that same trace. The spans are collected in memory: the suite's parts
// take the global tracer provider, as they do under telemetry.Setup.
func TestPurchaseIsOneTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
		_ = tp.Shutdown(context.Background())
	})

	e, stop := startSuite(t, t.TempDir())
	defer stop()
	api := adminClient(t, e)

	// A program whose gold tier the purchase reaches, so loyalty publishes
	// a tier change that notification consumes: the trace goes on over a
	// second hop of the bus.
	prog := api.mustDo("POST", "/v1/programs", `{"name":"金卡计划","timeZone":"Asia/Shanghai",`+
		`"baseRates":[{"currencyCode":"CNY","pointsPerUnit":"10"}],"currencyCode":"CNY",`+
		`"tiers":[{"code":"normal","name":"普通"},{"code":"gold","name":"金卡","qualifyPoints":"500"}],`+
		`"tierWindowMonths":12,"expiryKind":"EXPIRY_KIND_NEVER"}`)
	progID, _ := prog["id"].(string)
	id := knownToNotification(t, api, `{"displayName":"韩梅梅","email":"meimei@example.com","phone":"+8613800040001"}`)
	api.mustDo("POST", "/v1/programs/"+progID+"/members", `{"customerId":"`+id+`"}`)

	exp.Reset()
	api.mustDo("POST", "/v1/interactions", `{"customerId":"`+id+`","kind":"INTERACTION_KIND_PURCHASE","channel":"CHANNEL_IN_PERSON",`+
		`"purchase":{"orderId":"POS-T1","total":{"currencyCode":"CNY","amountMinor":"12850"}}}`)

	const (
		purchase   = "interaction.purchase.recorded"
		tierChange = "loyalty.tier.changed"
	)
	// The hops that must be there, each found by a predicate on the spans.
	wanted := []struct {
		what string
		is   func(s tracetest.SpanStub) bool
	}{
		{"gateway server span", func(s tracetest.SpanStub) bool {
			return s.SpanKind == trace.SpanKindServer && s.Name == "POST /v1/interactions"
		}},
		{"interaction gRPC server span", func(s tracetest.SpanStub) bool {
			return s.SpanKind == trace.SpanKindServer && s.Name == "guanxi.interaction.v1.InteractionService/RecordInteraction"
		}},
		{"outbox publish of " + purchase, isPublish(purchase)},
		{"loyalty's consumer span", isConsume(purchase, "loyalty-purchases")},
		{"segmentation's consumer span", isConsume(purchase, "segmentation-purchases")},
		{"outbox publish of " + tierChange, isPublish(tierChange)},
		{"notification's consumer span", isConsume(tierChange, "notification-loyalty")},
	}
	var (
		root  tracetest.SpanStub
		spans map[trace.SpanID]tracetest.SpanStub
		found = make([]tracetest.SpanStub, len(wanted))
	)
	// On a timeout, what did arrive says which hop broke the chain.
	t.Cleanup(func() {
		if t.Failed() && spans != nil {
			t.Logf("the spans of the trace so far:\n%s", formatTrace(root, spans))
			for i, w := range wanted {
				if !found[i].SpanContext.IsValid() {
					t.Logf("missing: %s", w.what)
				}
			}
		}
	})
	testinfra.Eventually(t, 15*time.Second, "the purchase's spans from the edge to notification", func() bool {
		all := exp.GetSpans()
		rootAt := slices.IndexFunc(all, wanted[0].is)
		if rootAt < 0 {
			return false
		}
		root = all[rootAt]
		spans = map[trace.SpanID]tracetest.SpanStub{}
		for _, s := range all {
			if s.SpanContext.TraceID() == root.SpanContext.TraceID() {
				spans[s.SpanContext.SpanID()] = s
			}
		}
		complete := true
		for i, w := range wanted {
			at := slices.IndexFunc(all, func(s tracetest.SpanStub) bool {
				return s.SpanContext.TraceID() == root.SpanContext.TraceID() && w.is(s)
			})
			if at < 0 {
				found[i], complete = tracetest.SpanStub{}, false
				continue
			}
			found[i] = all[at]
		}
		return complete
	})
	t.Logf("the purchase's trace:\n%s", formatTrace(root, spans))

	// Every hop reaches the edge's span by its parents, within the trace.
	if root.Parent.IsValid() {
		t.Errorf("the edge's span has parent %s, want a root", root.Parent.SpanID())
	}
	for i, w := range wanted {
		if chain := ancestors(found[i], spans); chain[len(chain)-1].SpanContext.SpanID() != root.SpanContext.SpanID() {
			t.Errorf("%s (%s): its parents end at %q (%s), not at the edge's span",
				w.what, found[i].SpanContext.SpanID(), chain[len(chain)-1].Name, chain[len(chain)-1].SpanContext.SpanID())
		}
	}
	// Each crossing of the bus is consumer <- publish <- the span that
	// wrote the event: the relay continued the trace the outbox kept, and
	// the consumer continued the relay's.
	hops := []struct{ consume, publish, writer int }{{3, 2, 1}, {4, 2, 1}, {6, 5, 3}}
	for _, h := range hops {
		c, p := found[h.consume], found[h.publish]
		if c.Parent.SpanID() != p.SpanContext.SpanID() {
			t.Errorf("%s: parent %s, want the %s (%s)", wanted[h.consume].what, c.Parent.SpanID(), wanted[h.publish].what, p.SpanContext.SpanID())
		}
		if !c.Parent.IsRemote() {
			t.Errorf("%s: parent not remote, want it taken from the message's headers", wanted[h.consume].what)
		}
		if !isAncestor(found[h.writer], p, spans) {
			t.Errorf("%s is not below the %s", wanted[h.publish].what, wanted[h.writer].what)
		}
	}
}

// isPublish finds the outbox relay's span publishing an event on subject.
func isPublish(subject string) func(tracetest.SpanStub) bool {
	return func(s tracetest.SpanStub) bool {
		return s.SpanKind == trace.SpanKindProducer && s.Name == "publish "+subject
	}
}

// isConsume finds durable's span consuming an event on subject.
func isConsume(subject, durable string) func(tracetest.SpanStub) bool {
	return func(s tracetest.SpanStub) bool {
		return s.SpanKind == trace.SpanKindConsumer && s.Name == "consume "+subject && attr(s, "messaging.consumer.group.name") == durable
	}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// ancestors returns s and its parents up to the first whose parent is not
// among spans.
func ancestors(s tracetest.SpanStub, spans map[trace.SpanID]tracetest.SpanStub) []tracetest.SpanStub {
	chain := []tracetest.SpanStub{s}
	for len(chain) <= len(spans) {
		p, ok := spans[chain[len(chain)-1].Parent.SpanID()]
		if !ok {
			break
		}
		chain = append(chain, p)
	}
	return chain
}

func isAncestor(a, s tracetest.SpanStub, spans map[trace.SpanID]tracetest.SpanStub) bool {
	return slices.ContainsFunc(ancestors(s, spans)[1:], func(p tracetest.SpanStub) bool {
		return p.SpanContext.SpanID() == a.SpanContext.SpanID()
	})
}

// formatTrace prints the spans of root's trace as a tree, children in the
// order they started: service, span name, kind, span id, parent id and
// trace id.
func formatTrace(root tracetest.SpanStub, spans map[trace.SpanID]tracetest.SpanStub) string {
	children := map[trace.SpanID][]tracetest.SpanStub{}
	for _, s := range spans {
		children[s.Parent.SpanID()] = append(children[s.Parent.SpanID()], s)
	}
	for _, cs := range children {
		slices.SortFunc(cs, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-14s %-72s %-9s %-16s %-16s %s\n", "SERVICE", "SPAN", "KIND", "SPAN ID", "PARENT ID", "TRACE ID")
	var walk func(s tracetest.SpanStub, depth int, service string)
	walk = func(s tracetest.SpanStub, depth int, service string) {
		service = spanService(s, service)
		parent := "-"
		if s.Parent.IsValid() {
			parent = s.Parent.SpanID().String()
		}
		fmt.Fprintf(&b, "%-14s %-72s %-9s %-16s %-16s %s\n", service, strings.Repeat("  ", depth)+s.Name, s.SpanKind,
			s.SpanContext.SpanID(), parent, s.SpanContext.TraceID())
		for _, c := range children[s.SpanContext.SpanID()] {
			walk(c, depth+1, service)
		}
	}
	walk(root, 0, "gateway")
	return b.String()
}

// spanService names the part of the suite a span comes from: a gRPC
// server span the service of its method, a consumer span the service of
// its durable (named <service>-<what>), any other span its parent's.
func spanService(s tracetest.SpanStub, parent string) string {
	switch s.SpanKind {
	case trace.SpanKindServer:
		if name, ok := strings.CutPrefix(s.Name, "guanxi."); ok {
			svc, _, _ := strings.Cut(name, ".")
			return svc
		}
	case trace.SpanKindConsumer:
		if svc, _, ok := strings.Cut(attr(s, "messaging.consumer.group.name"), "-"); ok {
			return svc
		}
	}
	return parent
}
