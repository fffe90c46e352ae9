package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guanxi-crm/guanxi/platform/logging"
	"github.com/guanxi-crm/guanxi/platform/natsembed"
	"github.com/guanxi-crm/guanxi/platform/servicehost"
	customerv1 "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	notificationv1 "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
	"github.com/guanxi-crm/guanxi/services/notification"
)

// notificationsTarget is the campaign dispatch rate the issue asked for.
const notificationsTarget = 5_000 // messages/s

// runNotifications is `guanxi bench notifications`: a campaign to a
// segment of N opted-in customers, dispatched to the dev sink on
// PostgreSQL; it reports how fast the messages were created and sent.
func runNotifications(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guanxi bench notifications", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 100_000, "segment members (customers), each sent one message")
	pg := os.Getenv("GUANXI_TEST_POSTGRES_URL")
	if pg == "" {
		pg = defaultPostgres
	}
	fs.StringVar(&pg, "postgres", pg, "PostgreSQL server; a fresh database is created and dropped on it")
	redisURL := fs.String("redis", os.Getenv("GUANXI_TEST_REDIS_URL"), "Redis for the frequency caps (empty: caps counted in PostgreSQL)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the campaign (service and client, one process) to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *n <= 0 {
		return errors.New("bench: -n must be positive")
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }

	dir, err := os.MkdirTemp("", "guanxi-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbURL, drop, err := createDatabase(ctx, pg, "guanxi_bench_")
	if err != nil {
		return err
	}
	defer func() { _ = drop() }()

	logf("loading %d customers into the notification read model", *n)
	ids := make([]string, *n)
	customers := make([]*customerv1.Customer, *n)
	answered := timestamppb.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	for i := range ids {
		ids[i] = randomUUID()
		customers[i] = &customerv1.Customer{Id: ids[i], DisplayName: fmt.Sprintf("客户%d", i), Email: fmt.Sprintf("c%d@example.cn", i),
			CreateTime: answered, Consents: []*customerv1.Consent{{Channel: customerv1.ConsentChannel_CONSENT_CHANNEL_EMAIL,
				Status: customerv1.ConsentStatus_CONSENT_STATUS_OPTED_IN, Source: "bench", UpdateTime: answered}}}
	}
	loadStart := time.Now()
	if err := notification.ImportCustomers(ctx, dbURL, customers); err != nil {
		return err
	}
	loaded := time.Since(loadStart)

	ns, err := natsembed.Start(natsembed.Config{Dir: filepath.Join(dir, "nats"), Port: -1}, nil)
	if err != nil {
		return err
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(dir, "notification.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	svcCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	cfg := notification.Config{
		GRPCAddr: lis.Addr().String(), Listener: lis, DatabaseURL: dbURL, Broker: servicehost.Broker{NATSURL: ns.ClientURL()}, Auth: benchAuth(),
		RedisURL: *redisURL, RedisPrefix: "guanxi-bench-" + randomUUID() + ":", CapPerDay: 2,
		DispatchInterval: time.Second, CampaignInterval: 100 * time.Millisecond, ScanInterval: time.Hour,
		Members: staticMembers{"bench": ids}, PublicURL: "https://crm.example.cn", UnsubscribeSecret: "bench",
		// QuietHours left empty: nothing waits for the morning.
	}
	go func() { done <- notification.Run(svcCtx, cfg, logging.New(logFile, "notification", slog.LevelInfo)) }()
	defer func() {
		stop()
		<-done
	}()
	conn, err := dial(lis.Addr().String())
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := waitServing(ctx, conn, done); err != nil {
		return err
	}
	client := notificationv1.NewNotificationServiceClient(conn)
	if _, err := client.SaveTemplate(ctx, &notificationv1.SaveTemplateRequest{Template: &notificationv1.Template{
		Kind: "bench_sale", Channel: notificationv1.Channel_CHANNEL_EMAIL, Locale: "zh-CN", Subject: "会员特惠",
		Body: "{{name}}，会员特惠开始了！退订：{{unsubscribe_url}}"}}); err != nil {
		return err
	}

	if *cpuProfile != "" {
		stopProfile, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	logf("running a campaign to %d members, dispatched to the dev sink", *n)
	start := time.Now()
	resp, err := client.CreateCampaign(ctx, &notificationv1.CreateCampaignRequest{Campaign: &notificationv1.Campaign{
		Name: "bench", SegmentId: "bench", TemplateKind: "bench_sale"}})
	if err != nil {
		return err
	}
	var created, finished time.Duration
	var c *notificationv1.Campaign
	for {
		got, err := client.GetCampaign(ctx, &notificationv1.GetCampaignRequest{Id: resp.GetCampaign().GetId()})
		if err != nil {
			return err
		}
		c = got.GetCampaign()
		if created == 0 && c.GetState() == notificationv1.CampaignState_CAMPAIGN_STATE_COMPLETED {
			created = time.Since(start)
		}
		if created != 0 && c.GetCounts().GetQueued() == 0 {
			finished = time.Since(start)
			break
		}
		if c.GetState() == notificationv1.CampaignState_CAMPAIGN_STATE_PAUSED {
			return fmt.Errorf("campaign paused: %s", c.GetError())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-done:
			return fmt.Errorf("notification service stopped: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	counts := c.GetCounts()
	rate := float64(counts.GetSent()) / finished.Seconds()
	caps := "PostgreSQL"
	if *redisURL != "" {
		caps = "Redis"
	}
	fmt.Fprintf(stdout, "notifications: campaign to %d members on PostgreSQL %s (caps in %s, dev sink)\n", *n, serverVersion(ctx, dbURL), caps)
	fmt.Fprintf(stdout, "  read model load:    %8d customers in %v (%.0f/s)\n", *n, loaded.Round(time.Millisecond), float64(*n)/loaded.Seconds())
	fmt.Fprintf(stdout, "  messages created:   %8d in %v (%.0f/s)\n", c.GetMembersProcessed(), created.Round(time.Millisecond), float64(c.GetMembersProcessed())/created.Seconds())
	fmt.Fprintf(stdout, "  dispatched to sink: %8d sent, %d failed, %d suppressed in %v\n", counts.GetSent(), counts.GetFailed(), counts.GetSuppressed(), finished.Round(time.Millisecond))
	fmt.Fprintf(stdout, "  dispatch rate:      %8.0f messages/s (target %d/s: %s)\n", rate, notificationsTarget, verdict(rate >= notificationsTarget))
	record(ctx, notificationFigures(loaded, created, finished, c.GetMembersProcessed(), rate)...)
	return nil
}

// staticMembers is a segmentation service streaming fixed segments.
type staticMembers map[string][]string

func (s staticMembers) StreamMembers(ctx context.Context, segmentID string, page func([]string) error) error {
	ids, ok := s[segmentID]
	if !ok {
		return fmt.Errorf("segment %s not found", segmentID)
	}
	for start := 0; start < len(ids); start += 2000 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := page(ids[start:min(start+2000, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

// randomUUID is a random (version 4) UUID.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
