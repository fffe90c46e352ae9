// Package eventscli is `guanxi events`: the suite's events as they happen,
// decoded to JSON, and the dead letters, listed and replayed. It connects
// to NATS as the operators' user (the running guanxi dev's, from its data
// directory, or -nats and -nkey).
package eventscli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/guanxi-crm/guanxi/cmd/guanxi/internal/devendpoints"
	"github.com/guanxi-crm/guanxi/platform/events"
	// The events' payload types, registered for decoding by Ce-Type.
	_ "github.com/guanxi-crm/guanxi/proto/guanxi/customer/v1"
	_ "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	_ "github.com/guanxi-crm/guanxi/proto/guanxi/loyalty/v1"
	_ "github.com/guanxi-crm/guanxi/proto/guanxi/notification/v1"
	_ "github.com/guanxi-crm/guanxi/proto/guanxi/segmentation/v1"
)

const usage = `Usage:
  guanxi events tail [SUBJECT-FILTER...]   print events as they are published, one JSON object a line
                                           (default: every stream's, e.g. "loyalty.>" for loyalty's)
  guanxi events dlq list                   list the dead letters: events a consumer gave up on
  guanxi events dlq replay SEQ...|-all     publish dead letters again to their subjects and remove them

Every subcommand takes -data (the running guanxi dev's data directory), or -nats URL and
-nkey SEED-FILE of a NATS user that may read the streams (and, to replay, publish to them).
`

// DefaultSubjects are what tail follows without a filter: every stream's
// events.
var DefaultSubjects = []string{"customer.>", "interaction.>", "ingest.>", "loyalty.>", "segmentation.>", "notification.>"}

// Run runs `guanxi events` with args after "events".
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("events: no subcommand given")
	}
	name := args[0]
	if name == "dlq" && len(args) > 1 {
		name, args = "dlq "+args[1], args[1:]
	}
	fs := flag.NewFlagSet("guanxi events "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", devendpoints.DefaultDataDir, "the running guanxi dev's data directory")
	natsURL := fs.String("nats", "", "NATS URL (default: the running guanxi dev's)")
	nkey := fs.String("nkey", "", "NKey seed file of the NATS user (default: guanxi dev's operators' user)")
	all := fs.Bool("all", false, "dlq replay: every dead letter")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	connect := func() (*nats.Conn, error) { return dial(*dataDir, *natsURL, *nkey) }
	switch name {
	case "tail":
		nc, err := connect()
		if err != nil {
			return err
		}
		defer nc.Close()
		subjects := fs.Args()
		if len(subjects) == 0 {
			subjects = DefaultSubjects
		}
		return Tail(ctx, nc, subjects, stdout, func() {
			fmt.Fprintf(stderr, "following %s (interrupt to stop)\n", strings.Join(subjects, " "))
		})
	case "dlq list":
		nc, err := connect()
		if err != nil {
			return err
		}
		defer nc.Close()
		return listDeadLetters(ctx, nc, stdout)
	case "dlq replay":
		if *all == (fs.NArg() > 0) {
			return errors.New("events dlq replay: give the dead letters' sequence numbers or -all")
		}
		seqs := make([]uint64, 0, fs.NArg())
		for _, a := range fs.Args() {
			seq, err := strconv.ParseUint(a, 10, 64)
			if err != nil || seq == 0 {
				return fmt.Errorf("events dlq replay: %q is no sequence number (see guanxi events dlq list)", a)
			}
			seqs = append(seqs, seq)
		}
		nc, err := connect()
		if err != nil {
			return err
		}
		defer nc.Close()
		return replayDeadLetters(ctx, nc, seqs, stdout)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("events: unknown subcommand %q", name)
	}
}

// dial connects as the operators' user: url and seed, else the running
// guanxi dev's in dataDir.
func dial(dataDir, url, seed string) (*nats.Conn, error) {
	if url == "" || seed == "" {
		f, err := devendpoints.Read(dataDir)
		if err != nil {
			return nil, fmt.Errorf("events: no -nats and -nkey given, and no running guanxi dev in %s: %w", dataDir, err)
		}
		if url == "" {
			url = f.NATS
		}
		if seed == "" {
			seed = f.NATSOpsSeed
		}
	}
	opts := []nats.Option{nats.Name("guanxi-events")}
	if seed != "" {
		opt, err := nats.NkeyOptionFromSeed(seed)
		if err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		opts = append(opts, opt, nats.CustomInboxPrefix("_INBOX.ops"))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("events: connect to %s: %w", url, err)
	}
	return nc, nil
}

// Line is one event as tail prints it.
type Line struct {
	Subject string          `json:"subject"`
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type,omitempty"`
	Source  string          `json:"source,omitempty"`
	Time    string          `json:"time,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	// Error says why Data is missing: a payload that did not decode.
	Error string `json:"error,omitempty"`
}

// Tail writes every message published to subjects to w as a JSON Line
// until ctx is done; following is called once the server has taken the
// subscriptions.
func Tail(ctx context.Context, nc *nats.Conn, subjects []string, w io.Writer, following func()) error {
	msgs := make(chan *nats.Msg, 1024)
	for _, s := range subjects {
		sub, err := nc.ChanSubscribe(s, msgs)
		if err != nil {
			return fmt.Errorf("events tail %s: %w", s, err)
		}
		defer func() { _ = sub.Unsubscribe() }()
	}
	if err := nc.FlushTimeout(5 * time.Second); err != nil {
		return fmt.Errorf("events tail: %w", err)
	}
	following()
	enc := json.NewEncoder(w)
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			if err := enc.Encode(decode(m.Subject, m.Header, m.Data)); err != nil {
				return err
			}
		}
	}
}

// decode gives an event its JSON form, its payload decoded by its Ce-Type.
func decode(subject string, h nats.Header, data []byte) Line {
	l := Line{Subject: subject, ID: h.Get(events.HeaderID), Type: h.Get(events.HeaderType),
		Source: h.Get(events.HeaderSource), Time: h.Get(events.HeaderTime)}
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(l.Type))
	if err != nil {
		l.Error = fmt.Sprintf("unknown event type %q", l.Type)
		return l
	}
	msg := mt.New().Interface()
	if err := proto.Unmarshal(data, msg); err != nil {
		l.Error = "payload does not decode: " + err.Error()
		return l
	}
	js, err := protojson.Marshal(msg)
	if err != nil {
		l.Error = err.Error()
		return l
	}
	l.Data = js
	return l
}

func listDeadLetters(ctx context.Context, nc *nats.Conn, w io.Writer) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	dls, err := events.ListDeadLetters(ctx, js)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tCONSUMER\tSUBJECT\tEVENT\tREASON")
	for _, dl := range dls {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", dl.Seq, dl.Time.UTC().Format(time.RFC3339), dl.Consumer, dl.Subject, dl.EventID,
			strings.ReplaceAll(dl.Reason, "\n", " "))
	}
	return tw.Flush()
}

// replayDeadLetters replays the dead letters seqs, or every one when seqs
// is empty.
func replayDeadLetters(ctx context.Context, nc *nats.Conn, seqs []uint64, w io.Writer) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if len(seqs) == 0 {
		dls, err := events.ListDeadLetters(ctx, js)
		if err != nil {
			return err
		}
		for _, dl := range dls {
			seqs = append(seqs, dl.Seq)
		}
	}
	for _, seq := range seqs {
		if err := events.ReplayDeadLetter(ctx, js, seq); err != nil {
			return err
		}
		fmt.Fprintf(w, "replayed %d\n", seq)
	}
	return nil
}
