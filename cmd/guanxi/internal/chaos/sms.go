package chaos

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
)

// smsSink is the SMS provider of the run: the notification service posts
// every text message here ({"to", "text", "client_ref"}, client_ref being
// the message id), and the sink counts them by message id and recipient.
type smsSink struct {
	srv  *http.Server
	addr string

	mu    sync.Mutex
	byRef map[string]int            // deliveries of each message id
	byTo  map[string]map[string]int // recipient -> message id -> deliveries
	total int
}

func newSMSSink() (*smsSink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &smsSink{addr: l.Addr().String(), byRef: map[string]int{}, byTo: map[string]map[string]int{}}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve)}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

// URL is the provider URL the notification service is given.
func (s *smsSink) URL() string { return "http://" + s.addr + "/sms" }

func (s *smsSink) serve(w http.ResponseWriter, r *http.Request) {
	var m struct {
		To        string `json:"to"`
		ClientRef string `json:"client_ref"`
	}
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.ClientRef == "" {
		http.Error(w, "bad message", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.byRef[m.ClientRef]++
	if s.byTo[m.To] == nil {
		s.byTo[m.To] = map[string]int{}
	}
	s.byTo[m.To][m.ClientRef]++
	s.total++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"id":%q}`, m.ClientRef)
}

// messagesTo is how many distinct messages reached phone.
func (s *smsSink) messagesTo(phone string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.byTo[phone]))
}

// resent is how many POSTs repeated a message id already delivered, and
// an example id. The dispatcher delivers at least once (a replica killed
// between the send and its commit sends again once its claim runs out)
// with the message id as client_ref, by which a provider sends it once:
// messages are counted by id, and resends reported beside.
func (s *smsSink) resent() (n int, example string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ref, k := range s.byRef {
		if k > 1 {
			n += k - 1
			example = ref
		}
	}
	return n, example
}

func (s *smsSink) close() { _ = s.srv.Close() }
