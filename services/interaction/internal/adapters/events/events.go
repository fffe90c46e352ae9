// Package events turns the interaction service's domain events into their
// wire form, the protobuf payloads and subjects other services read, for
// the store to write to the transactional outbox.
package events

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/guanxi-crm/guanxi/platform/events"
	interactionv1 "github.com/guanxi-crm/guanxi/proto/guanxi/interaction/v1"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/domain"
	"github.com/guanxi-crm/guanxi/services/interaction/internal/protoconv"
)

// Source is the Ce-Source of every event this service publishes.
const Source = "guanxi/interaction"

// NewEncoder returns what gives the interaction domain's events their wire form;
// the store (through platform/events.Transactor) writes them to the outbox.
func NewEncoder() events.ProtoEncoder[domain.Event] {
	return events.ProtoEncoder[domain.Event]{Source: Source, ToProto: toProtoEvent}
}

func toProtoEvent(e domain.Event) (string, proto.Message, error) {
	switch e := e.(type) {
	case domain.InteractionRecorded:
		return interactionv1.SubjectInteractionRecorded, &interactionv1.InteractionRecorded{
			Interaction: protoconv.ToProtoInteraction(e.Interaction),
		}, nil
	case domain.PurchaseRecorded:
		return interactionv1.SubjectPurchaseRecorded, &interactionv1.PurchaseRecorded{
			InteractionId: e.InteractionID,
			CustomerId:    e.CustomerID,
			Total:         protoconv.ToProtoMoney(e.Total),
			Lines:         protoconv.ToProtoLines(e.Lines),
			OccurTime:     protoconv.ToProtoTime(e.OccurTime),
			OrderId:       e.OrderID,
		}, nil
	case domain.ReturnRecorded:
		return interactionv1.SubjectReturnRecorded, &interactionv1.ReturnRecorded{
			InteractionId:         e.InteractionID,
			CustomerId:            e.CustomerID,
			PurchaseInteractionId: e.PurchaseInteractionID,
			OrderId:               e.OrderID,
			Refund:                protoconv.ToProtoMoney(e.Refund),
			Lines:                 protoconv.ToProtoLines(e.Lines),
			OccurTime:             protoconv.ToProtoTime(e.OccurTime),
		}, nil
	case domain.CaseResolved:
		return interactionv1.SubjectCaseResolved, &interactionv1.CaseResolved{
			CaseId:      e.Case.ID,
			CaseNumber:  e.Case.Number,
			CustomerId:  e.Case.CustomerID,
			Subject:     e.Case.Subject,
			Resolution:  e.Case.Resolution,
			SurveyId:    e.Case.SurveyID,
			SurveyUrl:   e.SurveyURL,
			ResolveTime: protoconv.ToProtoTime(e.Case.ResolvedAt),
			AgentId:     e.AgentID,
		}, nil
	case domain.CaseSLABreached:
		return interactionv1.SubjectCaseSlaBreached, &interactionv1.CaseSlaBreached{
			CaseId:      e.Case.ID,
			CaseNumber:  e.Case.Number,
			CustomerId:  e.Case.CustomerID,
			Target:      e.Target,
			DueTime:     protoconv.ToProtoTime(e.Case.DueFor(e.Target)),
			TeamId:      e.Case.TeamID,
			EscalatedTo: e.Case.EscalatedTo,
		}, nil
	case domain.CaseEscalated:
		return interactionv1.SubjectCaseEscalated, &interactionv1.CaseEscalated{
			CaseId:              e.Case.ID,
			CaseNumber:          e.Case.Number,
			CustomerId:          e.Case.CustomerID,
			EscalatedTo:         e.Case.EscalatedTo,
			PreviousEscalatedTo: e.Previous,
			Cause:               e.Cause,
			Target:              e.Target,
			Reason:              e.Reason,
			EscalatedBy:         e.By,
			TeamId:              e.Case.TeamID,
			AssigneeId:          e.Case.AssigneeID,
			Priority:            protoconv.ToProtoPriority(e.Case.Priority),
			Subject:             e.Case.Subject,
			EscalateTime:        protoconv.ToProtoTime(e.At),
		}, nil
	case domain.SurveyAnswered:
		sv := e.Survey
		var score int32
		if sv.Score != nil {
			score = int32(*sv.Score)
		}
		return interactionv1.SubjectSurveyAnswered, &interactionv1.SurveyAnswered{
			SurveyId:      sv.ID,
			CustomerId:    sv.CustomerID,
			Kind:          sv.Kind,
			Score:         score,
			CaseId:        sv.CaseID,
			InteractionId: sv.InteractionID,
			AnswerTime:    protoconv.ToProtoTime(sv.AnswerTime),
		}, nil
	case domain.FollowupDueEvent:
		f := e.Followup
		return interactionv1.SubjectFollowupDue, &interactionv1.FollowupDue{
			FollowupId: f.ID,
			CustomerId: f.CustomerID,
			AgentId:    f.AgentID,
			Reason:     f.Reason,
			DueTime:    protoconv.ToProtoTime(f.DueTime),
			Note:       f.Note,
		}, nil
	default:
		return "", nil, fmt.Errorf("encode event: unknown domain event %T", e)
	}
}
