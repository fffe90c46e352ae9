package bench

import (
	"fmt"
	"time"
)

// The figures of each benchmark for -json, the same ones its report
// prints; a step that failed or did not run has none (its report line and
// the record's error say why).

func (b *customersBench) figures() []Figure {
	var out []Figure
	out = append(out, stepFigures("generate CSV", b.gen)...)
	imp := stepFigures("import", b.imp)
	raw := stepFigures("raw COPY", b.cp)
	if len(imp) > 0 {
		imp[0].Target, imp[0].Met = fmt.Sprintf(">= %d rows/s", importTarget), met(b.imp.rate() >= importTarget)
		if len(raw) > 0 {
			imp[0] = against(imp[0], raw[0])
		}
	}
	out = append(out, imp...)
	if b.importCPU.ok && b.imp.rows > 0 {
		out = append(out, Figure{Name: "import CPU per row", Value: float64(b.importCPU.busy.Microseconds()) / float64(b.imp.rows), Unit: "µs"})
	}
	out = append(out, stepFigures("events on the bus", b.relay)...)
	exp := stepFigures("export", b.exp)
	if len(exp) > 0 {
		projected := exportTargetRows / b.exp.rate()
		exp = append(exp, Figure{Name: "export of 1,000,000 projected", Value: projected, Unit: "s",
			Target: fmt.Sprintf("< %d s", exportTargetSecond), Met: met(projected < exportTargetSecond)})
	}
	out = append(out, exp...)
	out = append(out, raw...)
	if stored := stepFigures("stored rows COPY", b.stored); len(stored) > 0 {
		if len(raw) > 0 {
			stored[0] = against(stored[0], raw[0])
		}
		out = append(out, stored...)
	}
	return append(out, b.pages.figures()...)
}

func (r pagesResult) figures() []Figure {
	if !r.ran {
		return nil
	}
	out := latencies("ListCustomers walk", r.walk)
	first := latencies("ListCustomers page 1", r.first)
	out = append(out, first...)
	out = append(out, latencies(fmt.Sprintf("ListCustomers page %d", r.deepPage-1), r.beforeDeep)...)
	deep := latencies(fmt.Sprintf("ListCustomers page %d", r.deepPage), r.deep)
	rawKeyset := latencies(fmt.Sprintf("raw SQL keyset page %d", r.deepPage), r.rawKeyset)
	if len(deep) > 0 && len(first) > 0 {
		deep[0] = against(deep[0], first[0])
		deep[0].Target, deep[0].Met = fmt.Sprintf("within %.0fx of page 1", pagesRatioTarget), met(r.ratio() <= pagesRatioTarget)
	}
	out = append(out, deep...)
	if len(rawKeyset) > 0 && len(deep) > 0 {
		// The service's deep page against the same query on the database.
		out = append(out, against(Figure{Name: deep[0].Name + " / raw", Value: deep[0].Value, Unit: "ms"}, rawKeyset[0]))
	}
	out = append(out, rawKeyset...)
	return append(out, latencies(fmt.Sprintf("raw SQL OFFSET page %d", r.deepPage), r.rawOffset)...)
}

func (b *footprintBench) figures() []Figure {
	var out []Figure
	for _, m := range b.procs {
		if m.err != nil {
			continue
		}
		f := Figure{Name: "idle RSS " + m.name, Value: float64(m.rss) / (1 << 20), Unit: "MiB"}
		if m.name != "gateway" && m.name != "nats" {
			f.Target, f.Met = fmt.Sprintf("< %d MiB", idleRSSTarget>>20), met(m.rss < idleRSSTarget)
		}
		out = append(out, f, Figure{Name: "peak RSS " + m.name, Value: float64(m.hwm) / (1 << 20), Unit: "MiB"})
	}
	for i, d := range b.devRuns {
		name := "guanxi dev start, fresh data directory"
		if i > 0 {
			name = fmt.Sprintf("guanxi dev restart %d", i)
		}
		f := seconds(name, d)
		f.Target, f.Met = fmt.Sprintf("< %s", devStartTarget), met(d < devStartTarget)
		out = append(out, f)
	}
	if b.devMem.rss > 0 {
		out = append(out, Figure{Name: "idle RSS guanxi dev", Value: float64(b.devMem.rss) / (1 << 20), Unit: "MiB"})
	}
	return out
}

func (b *consumersBench) figures() []Figure {
	var out []Figure
	for _, s := range consumerServices {
		if st, ok := b.catchUp[s.name]; ok && st.err == nil && st.elapsed > 0 {
			f := seconds("catch-up "+s.name, st.elapsed)
			if b.customers >= 1_000_000 {
				f.Target, f.Met = fmt.Sprintf("< %s", catchUpTarget), met(st.elapsed < catchUpTarget)
			}
			out = append(out, f, Figure{Name: "catch-up " + s.name + " rate", Value: st.rate(), Unit: "events/s"})
		}
	}
	for _, s := range consumerServices {
		if st, ok := b.drains[s.name]; ok && st.err == nil && st.elapsed > 0 {
			out = append(out, Figure{Name: "drain " + s.name, Value: st.rate(), Unit: "events/s",
				Target: fmt.Sprintf(">= %d events/s", consumerRateTarget), Met: met(st.rate() >= consumerRateTarget)})
		}
	}
	return out
}

func (b *interactionsBench) figures() []Figure {
	var out []Figure
	var raw *Figure
	if b.raw.ran && b.raw.err == nil {
		raw = &Figure{Name: "raw JetStream publish", Value: b.raw.rate(), Unit: "events/s"}
	}
	for _, p := range []struct {
		name     string
		r        pathResult
		baseline bool
		target   bool
	}{{"gRPC IngestEvents", b.grpcPath, true, true}, {"NATS ingest", b.natsPath, true, true},
		{"NATS steady", b.steady, false, false}} {
		if !p.r.ran || p.r.err != nil {
			continue
		}
		f := Figure{Name: p.name, Value: p.r.rate(), Unit: "events/s"}
		if p.baseline && raw != nil {
			f = against(f, *raw)
		}
		if p.target {
			f.Target, f.Met = fmt.Sprintf(">= %d events/s", interactionsTarget), met(p.r.rate() >= interactionsTarget)
		}
		out = append(out, f)
		out = append(out, latencies(p.name+" ingest-to-readable", p.r.latency)...)
	}
	if raw != nil {
		out = append(out, *raw)
	}
	if b.relayedMeasured {
		out = append(out, millis("outbox drained after the last ingest", b.relayed))
	}
	return out
}

func (b *loyaltyBench) figures() []Figure {
	prefix := ""
	if b.clusterBin != "" {
		prefix = "cluster "
	}
	var out []Figure
	if b.sent > 0 {
		out = append(out, latencies(prefix+"RecordInteraction", b.record)...)
		ptp := latencies(prefix+"purchase-to-points", b.visible)
		if len(ptp) == 2 {
			ptp[0].Target, ptp[0].Met = fmt.Sprintf("< %s", loyaltyTargetP50), met(percentile(b.visible, 0.5) < loyaltyTargetP50)
			ptp[1].Target, ptp[1].Met = fmt.Sprintf("< %s", loyaltyTargetP99), met(percentile(b.visible, 0.99) < loyaltyTargetP99)
		}
		out = append(out, ptp...)
		if b.drainedOK {
			out = append(out, millis(prefix+"points visible after the last purchase", b.drained))
		}
	}
	out = append(out, latencies(prefix+"event-on-bus-to-points", b.fromBus)...)
	echo := readFigure("bare grpc-go echo", b.echo)
	out = append(out, echo...)
	for _, t := range []throughput{b.reads, b.getCustomer} {
		fs := readFigure(prefix+t.name, t)
		if len(fs) > 0 && len(echo) > 0 {
			fs[0] = against(fs[0], echo[0])
			fs[0].Target, fs[0].Met = fmt.Sprintf(">= %.1f x echo", readTarget), met(t.rate() >= readTarget*b.echo.rate())
		}
		out = append(out, fs...)
	}
	return out
}

// readFigure is a read's throughput and latencies, none when it did not
// run.
func readFigure(name string, t throughput) []Figure {
	if len(t.lat) == 0 || t.elapsed <= 0 {
		return nil
	}
	return append([]Figure{{Name: name, Value: t.rate(), Unit: "calls/s"}}, latencies(name, t.lat)...)
}

func (b *segBench) figures() []Figure {
	var out []Figure
	if f := b.fit; f != nil {
		bg := f.GetBgnbdFitDuration().AsDuration()
		fit := seconds("BG/NBD fit CDNOW", bg)
		fit.Target, fit.Met = fmt.Sprintf("< %s", segFitTarget), met(bg < segFitTarget)
		out = append(out, fit, seconds("Gamma-Gamma fit CDNOW", f.GetFitDuration().AsDuration()-bg))
	}
	sql := stepFigures("ABC + RFM by one SQL query", b.sqlStep)
	for _, s := range []struct {
		name string
		st   step
	}{{"recompute ABC + RFM", b.plain}, {"refit + recompute", b.refit}, {"recompute ABC + RFM + predictions", b.predicted}} {
		if !s.st.ran || s.st.err != nil || s.st.elapsed <= 0 {
			continue
		}
		f := seconds(s.name, s.st.elapsed)
		if s.name != "refit + recompute" {
			f.Target, f.Met = fmt.Sprintf("< %s", segRecomputeTarget), met(s.st.elapsed < segRecomputeTarget)
			if len(sql) > 0 {
				f = against(f, sql[1])
			}
		}
		out = append(out, f)
	}
	out = append(out, sql...)
	if b.segment.ran && b.segment.err == nil {
		out = append(out, seconds("create segment over every customer", b.segment.elapsed))
	}
	return out
}

// notificationFigures are `guanxi bench notifications`' figures.
func notificationFigures(loaded, created, finished time.Duration, members int64, rate float64) []Figure {
	return []Figure{
		seconds("read model load", loaded),
		{Name: "messages created", Value: float64(members) / created.Seconds(), Unit: "messages/s"},
		seconds("dispatched to sink", finished),
		{Name: "dispatch rate", Value: rate, Unit: "messages/s",
			Target: fmt.Sprintf(">= %d messages/s", notificationsTarget), Met: met(rate >= notificationsTarget)},
	}
}
