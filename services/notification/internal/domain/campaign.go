package domain

import (
	"errors"
	"strings"
	"time"

	"github.com/guanxi-crm/guanxi/platform/validation"
)

// ErrNotFound means the message, campaign or template does not exist.
var ErrNotFound = errors.New("not found")

// ErrFailedPrecondition means the resource is not in a state that allows
// the change (resuming a campaign that is not paused).
var ErrFailedPrecondition = errors.New("failed precondition")

// CampaignState is where a campaign is.
type CampaignState string

// The campaign states; COMPLETED and CANCELLED are final.
const (
	CampaignScheduled CampaignState = "SCHEDULED"
	CampaignRunning   CampaignState = "RUNNING"
	CampaignPaused    CampaignState = "PAUSED"
	CampaignCompleted CampaignState = "COMPLETED"
	CampaignCancelled CampaignState = "CANCELLED"
)

// Campaign sends one kind of message to the members of a segment.
type Campaign struct {
	ID           string
	Name         string
	SegmentID    string
	Kind         string
	ScheduleTime time.Time
	// RatePerSecond caps how many messages a second the campaign creates;
	// 0 means no cap.
	RatePerSecond int
	State         CampaignState
	// Processed counts the members streamed so far; a resumed campaign
	// skips that many.
	Processed  int64
	RequestID  string
	CreateTime time.Time
	StartTime  time.Time
	EndTime    time.Time
	Error      string
	// Counts are the campaign's messages by status.
	Counts map[Status]int64
}

// ReasonCampaignCancelled is the status reason of a campaign message
// suppressed because its campaign was cancelled before it went out.
const ReasonCampaignCancelled = "campaign cancelled"

// Validate checks a new campaign. templates tells whether its kind has a
// template to send.
func (c Campaign) Validate(templates *TemplateSet) validation.Violations {
	var v validation.Violations
	if strings.TrimSpace(c.Name) == "" {
		v.Add("campaign.name", "is required")
	} else if len(c.Name) > 200 {
		v.Add("campaign.name", "must be at most 200 bytes")
	}
	if strings.TrimSpace(c.SegmentID) == "" {
		v.Add("campaign.segment_id", "is required")
	}
	kind, ok := LookupKind(c.Kind)
	switch {
	case c.Kind == "":
		v.Add("campaign.template_kind", "is required")
	case !ok:
		v.Add("campaign.template_kind", "is not a valid kind")
	case kind.Agent:
		v.Add("campaign.template_kind", "is an agent notice, not a customer message")
	case !templates.Has(c.Kind, ChannelEmail) && !templates.Has(c.Kind, ChannelSMS):
		v.Add("campaign.template_kind", "has no template; save one first")
	}
	if c.RatePerSecond < 0 {
		v.Add("campaign.rate_per_second", "must not be negative")
	}
	return v
}

// Start returns the state a new campaign starts in at now.
func (c Campaign) Start(now time.Time) CampaignState {
	if c.ScheduleTime.After(now) {
		return CampaignScheduled
	}
	return CampaignRunning
}

// Pause pauses a scheduled or running campaign.
func (c *Campaign) Pause() error {
	if c.State != CampaignScheduled && c.State != CampaignRunning {
		return errors.Join(ErrFailedPrecondition, errors.New("only a scheduled or running campaign can be paused; it is "+string(c.State)))
	}
	c.State = CampaignPaused
	return nil
}

// Resume continues a paused campaign: scheduled again when its time has
// not come.
func (c *Campaign) Resume(now time.Time) error {
	if c.State != CampaignPaused {
		return errors.Join(ErrFailedPrecondition, errors.New("only a paused campaign can be resumed; it is "+string(c.State)))
	}
	c.State = c.Start(now)
	return nil
}

// Cancel ends a campaign that has not ended.
func (c *Campaign) Cancel(now time.Time) error {
	if c.State == CampaignCompleted || c.State == CampaignCancelled {
		return errors.Join(ErrFailedPrecondition, errors.New("the campaign already ended: "+string(c.State)))
	}
	c.State = CampaignCancelled
	c.EndTime = now.UTC()
	return nil
}

// Budget returns how many more members a running campaign may process at
// now under its rate: the rate times the seconds since it started, less
// what it processed. -1 means no limit.
func (c Campaign) Budget(now time.Time) int64 {
	if c.RatePerSecond <= 0 {
		return -1
	}
	elapsed := now.Sub(c.StartTime)
	if elapsed < 0 {
		elapsed = 0
	}
	// The first second's worth may go at once.
	allowed := int64(c.RatePerSecond) + int64(elapsed.Seconds()*float64(c.RatePerSecond))
	if allowed < c.Processed {
		return 0
	}
	return allowed - c.Processed
}

// CampaignKey is the idempotency key of a campaign's message to a customer.
func CampaignKey(campaignID, customerID string) string {
	return "campaign:" + campaignID + ":" + customerID
}
